import { Controller, Get, Injectable, Module, UnauthorizedException, UseGuards, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Redis } from 'ioredis';

/**
 * The floor of any store check per request: a guard that only reads one small string per request from Redis by the
 * request's key (ioredis with auto-pipelining, as the module's store) and checks nothing else. No token, no
 * signature, no CSRF: what a per-request Redis round trip alone costs on this machine.
 */
export const FLOOR_KEY_PREFIX = 'bench_floor:';

let client: Redis | undefined;

/** The floor's client, made on first use from REDIS_URL. */
export function floorClient(url: string): Redis {
  client ??= new Redis(url, { enableAutoPipelining: true });
  return client;
}

@Injectable()
class RedisGetGuard implements CanActivate {
  async canActivate(context: ExecutionContext): Promise<boolean> {
    const key = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined> }>().headers['x-floor-key'];
    if (key === undefined || (await floorClient(process.env.REDIS_URL ?? '').get(FLOOR_KEY_PREFIX + key)) === null) {
      throw new UnauthorizedException();
    }
    return true;
  }
}

@Controller()
class FloorController {
  @UseGuards(RedisGetGuard)
  @Get('ping')
  ping(): { ok: boolean } {
    return { ok: true };
  }
}

@Module({ controllers: [FloorController], providers: [RedisGetGuard] })
export class RedisFloorModule {}
