/**
 * Runs a service-level suite on both stores: the memory store, and a real redis-server started once per test file.
 * Each test gets a fresh module (closed after it) and an empty Redis. The manual clock starts at the real time (in
 * whole seconds), because Redis expires keys by its own clock: tests move the module's clock, never sleep.
 */
import { afterAll, afterEach, beforeAll, beforeEach } from '@jest/globals';
import { Redis } from 'ioredis';
import type { JwtSessionsModuleOptions } from '../../lib/index.js';
import { ManualClock } from '../support/manual-clock.js';
import { RedisServer } from '../support/redis-server.js';
import { setup } from '../support/setup.js';

export type StoreKind = 'memory' | 'redis';
export const STORE_KINDS: StoreKind[] = ['memory', 'redis'];

export type Ctx = Awaited<ReturnType<typeof setup>>;

export function realTimeClock(): ManualClock {
  return new ManualClock(Math.floor(Date.now() / 1000) * 1000);
}

/** Registers the hooks of a two-store file; call once at the top level of the file. */
export function bothStores() {
  let server: RedisServer | undefined;
  let admin: Redis | undefined;
  const open: Array<{ close(): Promise<void> }> = [];

  beforeAll(async () => {
    server = await RedisServer.start();
    admin = new Redis(server.url);
  }, 30_000);

  afterAll(async () => {
    await admin?.quit();
    await server?.destroy();
  });

  beforeEach(async () => {
    await admin?.flushall();
  });

  afterEach(async () => {
    for (const ctx of open.splice(0)) await ctx.close();
  });

  return {
    /** The module options that select a store kind. */
    storeOptions(kind: StoreKind): Pick<JwtSessionsModuleOptions, 'store'> {
      return kind === 'redis' ? { store: { type: 'redis', url: (server as RedisServer).url } } : { store: 'memory' };
    },

    /** A compiled module on the store kind, closed after the test. */
    async setup(kind: StoreKind, options: JwtSessionsModuleOptions = {}, clock = realTimeClock()): Promise<Ctx> {
      const ctx = await setup({ ...this.storeOptions(kind), ...options }, clock);
      open.push(ctx);
      return ctx;
    },

    /** Anything else to close after the test (an app). */
    closeAfter(closable: { close(): Promise<void> }): void {
      open.push(closable);
    },

    /** A client on the test Redis, for looking at keys. */
    get admin(): Redis {
      return admin as Redis;
    },
  };
}
