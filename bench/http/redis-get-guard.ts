import { Injectable, Module, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Redis } from 'ioredis';
import { guardedPing } from './floor-guards.js';

/**
 * A guard that only reads one small string per request from Redis by the request's key (one ioredis command per
 * request, auto-pipelined) and checks nothing else. No token, no signature, no CSRF: what a store lookup per request
 * costs on this machine when each request sends its own command, as most guards that look a session up do.
 */
export const GET_KEY_PREFIX = 'bench_get:';

let client: Redis | undefined;

/** The guard's client, made on first use from REDIS_URL. */
export function redisGetClient(url: string): Redis {
  client ??= new Redis(url, { enableAutoPipelining: true });
  return client;
}

@Injectable()
class RedisGetGuard implements CanActivate {
  async canActivate(context: ExecutionContext): Promise<boolean> {
    const key = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined> }>().headers['x-get-key'];
    if (key === undefined || (await redisGetClient(process.env.REDIS_URL ?? '').get(GET_KEY_PREFIX + key)) === null) {
      throw new UnauthorizedException();
    }
    return true;
  }
}

@Module({ controllers: [guardedPing(RedisGetGuard)], providers: [RedisGetGuard] })
export class RedisGetModule {}
