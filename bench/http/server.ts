import { NestFactory } from '@nestjs/core';
import { JwtService } from '@nestjs/jwt';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { INestApplication } from '@nestjs/common';
import { writeFileSync } from 'node:fs';
import { SessionService } from '../../lib/index.js';
import { benchModule } from './bench-app.js';
import { mapLookupToken } from './floor-guards.js';
import { GET_KEY_PREFIX, redisGetClient } from './redis-get-guard.js';
import { SESSION_COUNT, type Adapter, type BenchCredentials, type Setup } from './setups.js';

/**
 * One benchmark server: the setup's app on the adapter, listening on BENCH_PORT; it logs in SESSION_COUNT sessions
 * and writes how to call it to BENCH_CREDENTIALS, then prints "ready".
 */
const adapter = process.env.BENCH_ADAPTER as Adapter;
const setup = process.env.BENCH_SETUP as Setup;
const port = Number(process.env.BENCH_PORT);

const module = benchModule(setup, process.env.REDIS_URL);
const app: INestApplication = adapter === 'fastify'
  ? await NestFactory.create(module, new FastifyAdapter(), { logger: false })
  : await NestFactory.create(module, { logger: false });
await app.listen(port, '127.0.0.1');

async function credentials(): Promise<BenchCredentials> {
  const many = <T>(make: (i: number) => Promise<T>) => Promise.all(Array.from({ length: SESSION_COUNT }, (_, i) => make(i)));
  switch (setup) {
    case 'unguarded':
    case 'unguarded-twin':
    case 'pass-guard':
      return { method: 'GET', path: '/ping', sessions: [{}] };
    case 'unguarded-post':
      return { method: 'POST', path: '/ping', sessions: [{}] };
    case 'map-lookup':
      return { method: 'GET', path: '/ping', sessions: await many(async (i) => ({ authorization: `Bearer ${mapLookupToken(i)}` })) };
    case 'passport-jwt': {
      const jwt = app.get(JwtService);
      return { method: 'GET', path: '/ping', sessions: await many(async (i) => ({ authorization: `Bearer ${jwt.sign({ sub: i })}` })) };
    }
    case 'redis-get': {
      const redis = redisGetClient(process.env.REDIS_URL as string);
      return {
        method: 'GET', path: '/ping',
        sessions: await many(async (i) => {
          await redis.set(`${GET_KEY_PREFIX}${i}`, JSON.stringify({ user_id: i, live: true }));
          return { 'x-get-key': String(i) };
        }),
      };
    }
    case 'access-memory':
    case 'access-redis': {
      const sessions = app.get(SessionService);
      return {
        method: 'GET', path: '/ping',
        sessions: await many(async (i) => ({ authorization: `Bearer ${(await sessions.login({ payload: { user_id: i } })).access}` })),
      };
    }
    case 'cookie-csrf-redis': {
      const sessions = app.get(SessionService);
      return {
        method: 'POST', path: '/ping',
        sessions: await many(async (i) => {
          const tokens = await sessions.login({ payload: { user_id: i } });
          return { cookie: `jwt_access=${tokens.access}`, 'x-csrf-token': tokens.csrf };
        }),
      };
    }
  }
}

writeFileSync(process.env.BENCH_CREDENTIALS as string, JSON.stringify(await credentials()));
process.stdout.write('ready\n');
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
