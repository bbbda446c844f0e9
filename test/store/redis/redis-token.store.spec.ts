import { jest } from '@jest/globals';
import { Redis } from 'ioredis';
import { MalconfiguredError, RedisTokenStore, StoreUnavailableError, UnauthorizedError, type RefreshedTokens } from '../../../lib/index.js';
import { ManualClock } from '../../support/manual-clock.js';
import { RedisServer } from '../../support/redis-server.js';
import { setup } from '../../support/setup.js';

/** Our keys with their TTLs, read straight from the server. */
async function keysWithTtl(client: Redis): Promise<Array<{ key: string; ttl: number }>> {
  const keys = await client.keys('jwt_*');
  return Promise.all(keys.map(async (key) => ({ key, ttl: await client.ttl(key) })));
}

/** Calls of each command since the last reset, from INFO commandstats (commands run inside scripts included). */
async function commandCalls(client: Redis): Promise<Record<string, number>> {
  const info = await client.info('commandstats');
  const calls: Record<string, number> = {};
  for (const match of info.matchAll(/cmdstat_([a-z|]+):calls=(\d+)/g)) {
    // The test's own CONFIG RESETSTAT and INFO are not the store's.
    if (!match[1].startsWith('config') && match[1] !== 'info') calls[match[1]] = Number(match[2]);
  }
  return calls;
}

/** Counts the commands a client sends: its round trips to Redis. */
function countRoundTrips(client: Redis): { take(): string[] } {
  const sent: string[] = [];
  const original = client.sendCommand.bind(client);
  client.sendCommand = ((command: { name: string }, ...rest: unknown[]) => {
    sent.push(command.name);
    return (original as (...args: unknown[]) => unknown)(command, ...rest);
  }) as typeof client.sendCommand;
  return { take: () => sent.splice(0) };
}

describe('RedisTokenStore', () => {
  let server: RedisServer;
  let admin: Redis;

  beforeAll(async () => {
    // appendfsync always: a killed server comes back with every session, as a production Redis with AOF would.
    server = await RedisServer.start(['--appendonly', 'yes', '--appendfsync', 'always']);
    admin = new Redis(server.url);
  }, 30_000);

  afterAll(async () => {
    await admin.quit();
    await server.destroy();
  });

  beforeEach(async () => {
    await admin.flushall();
  });

  async function redisSetup(clock = new ManualClock(Date.now())) {
    return setup({ store: { type: 'redis', url: server.url, commandTimeout: 500 } }, clock);
  }

  it('gives every key a TTL no longer than its session, and keeps no index entry of an expired session', async () => {
    const { sessions, clock, close } = await redisSetup();
    await sessions.login({ namespace: 'user-1', refreshExpiresIn: 100 });
    const tokens = await sessions.login({ namespace: 'user-1', refreshExpiresIn: 1000 });
    await sessions.refresh(tokens.refresh);
    await sessions.login({ refreshExpiresIn: 50 });

    for (const { key, ttl } of await keysWithTtl(admin)) {
      expect({ key, ttl: ttl > 0 && ttl <= 1000 }).toEqual({ key, ttl: true });
    }

    clock.advance(101);
    await sessions.login({ namespace: 'user-1', refreshExpiresIn: 500 });
    const index = (await admin.keys('jwt_n:*'))[0];
    expect(await admin.zcard(index)).toBe(2);
    expect(await sessions.listSessions('user-1')).toHaveLength(2);
    await close();
  });

  it('costs one round trip per access check and per login, two per refresh, and never scans on a request path', async () => {
    const client = new Redis(server.url);
    const { sessions, close } = await setup({ store: { type: 'redis', client } }, new ManualClock(Date.now()));
    const warmUp = await sessions.login({ namespace: 'user-2' });
    await sessions.refresh(warmUp.refresh);
    await sessions.flushNamespaced('user-2');
    const tokens = await sessions.login({ namespace: 'user-2', refreshByAccessAllowed: true });
    const roundTrips = countRoundTrips(client);
    await admin.config('RESETSTAT');

    await sessions.authorizeAccess(tokens.access);
    expect(roundTrips.take()).toEqual(['hmget']);
    await sessions.login({ namespace: 'user-2' });
    expect(roundTrips.take()).toEqual(['evalsha']);
    await sessions.refresh(tokens.refresh);
    expect(roundTrips.take()).toEqual(['hmget', 'evalsha']);
    expect(await sessions.flushNamespaced('user-2')).toBe(2);
    expect(roundTrips.take()).toEqual(['evalsha']);

    const calls = await commandCalls(admin);
    expect(calls.scan).toBeUndefined();
    expect(calls.keys).toBeUndefined();
    await close();
    client.disconnect();
  });

  it('keeps a concurrent storm of refreshes, flushes and logins on one session consistent', async () => {
    const { sessions, close } = await redisSetup();
    const tokens = await sessions.login({ namespace: 'storm', refreshByAccessAllowed: true });
    const refreshes = Array.from({ length: 30 }, () => sessions.refresh(tokens.refresh));
    const logins = Array.from({ length: 10 }, () => sessions.login({ namespace: 'storm' }));
    const flush = sessions.flushByToken(tokens.refresh);
    const settled = await Promise.allSettled([...refreshes, flush, ...logins]);

    const refreshResults = settled.slice(0, 30) as Array<PromiseSettledResult<RefreshedTokens>>;
    for (const result of refreshResults) {
      if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(UnauthorizedError);
    }
    expect(settled[30]).toEqual({ status: 'fulfilled', value: 1 });
    // The flushed session stays flushed: no refresh revived it, and none of its access tokens works.
    expect(await sessions.sessionExists(tokens.refresh, 'refresh')).toBe(false);
    for (const result of refreshResults) {
      if (result.status === 'fulfilled') expect(await sessions.sessionExists(result.value.access)).toBe(false);
    }
    expect(refreshResults.filter((result) => result.status === 'fulfilled').length).toBeLessThanOrEqual(1);
    const listed = await sessions.listSessions('storm');
    expect(listed).toHaveLength(10);
    for (const { key, ttl } of await keysWithTtl(admin)) expect({ key, ttl: ttl > 0 }).toEqual({ key, ttl: true });
    await close();
  });

  it('answers 503-class errors while Redis is down and recovers by itself, with the sessions intact', async () => {
    const { sessions, close } = await redisSetup();
    const tokens = await sessions.login({ namespace: 'outage' });
    await server.stop();

    await expect(sessions.authorizeAccess(tokens.access)).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(sessions.login({})).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(sessions.refresh(tokens.refresh)).rejects.toMatchObject({ code: 'ERR_JWT_SESSIONS_STORE_UNAVAILABLE' });
    // A forged token is still refused as unauthorized, without asking the store.
    await expect(sessions.authorizeAccess(`${tokens.access}x`)).rejects.toMatchObject({ code: 'ERR_JWT_SESSIONS_UNAUTHORIZED' });

    await server.resume();
    let authorized = null;
    for (let attempt = 0; attempt < 100 && !authorized; attempt++) {
      authorized = await sessions.authorizeAccess(tokens.access).catch(() => null);
      if (!authorized) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(authorized?.payload.ruid).toBeDefined();
    expect(await sessions.listSessions('outage')).toHaveLength(1);
    await close();
  }, 30_000);

  it('closes a client it created, and never one it was given', async () => {
    const created = await redisSetup();
    const ownStore = created.store as RedisTokenStore;
    await created.sessions.login({});
    await created.close();
    expect(ownStore.client.status).toBe('end');

    const mine = new Redis(server.url);
    const given = await setup({ store: { type: 'redis', client: mine } }, new ManualClock(Date.now()));
    await given.sessions.login({});
    await given.close();
    expect(mine.status).toBe('ready');
    expect(await mine.ping()).toBe('PONG');
    mine.disconnect();
  });

  it('connects to REDIS_URL when the options name no server', async () => {
    const previous = process.env.REDIS_URL;
    process.env.REDIS_URL = server.url;
    try {
      const { sessions, close } = await setup({ store: { type: 'redis' } }, new ManualClock(Date.now()));
      await sessions.login({ namespace: 'from-env' });
      expect(await admin.keys('jwt_n:*')).toHaveLength(1);
      await close();
    } finally {
      if (previous === undefined) delete process.env.REDIS_URL;
      else process.env.REDIS_URL = previous;
    }
  });

  it('writes keys under the configured prefix only', async () => {
    const { sessions, close } = await setup({ store: { type: 'redis', url: server.url, prefix: 'app1:' } }, new ManualClock(Date.now()));
    await sessions.login({ namespace: 'prefixed' });
    const keys = await admin.keys('*');
    expect(keys.length).toBe(2);
    expect(keys.every((key) => key.startsWith('app1:'))).toBe(true);
    await close();
  });

  it('refuses conflicting or impossible connection options at bootstrap', async () => {
    await expect(setup({ store: { type: 'redis', url: server.url, host: 'localhost' } })).rejects.toThrow(/only one of/);
    await expect(setup({ store: { type: 'redis', cluster: [{ port: 1 }], db: 2 } })).rejects.toThrow(/store\.db/);
    await expect(setup({ store: { type: 'redis', sentinels: [{ port: 1 }] } })).rejects.toThrow(/store\.name/);
    await expect(setup({ store: { type: 'redis', url: server.url, prefix: 'a{b}' } })).rejects.toThrow(/prefix/);
  });

  it('ignores a damaged record instead of authorizing from it', async () => {
    const warn = jest.fn();
    const { sessions, store, close } = await redisSetup();
    const tokens = await sessions.login({});
    const [key] = await admin.keys('jwt_s:*');
    await admin.hset(key, 'e', 'not-a-number');
    Object.assign(store as object, { logger: { warn, error: jest.fn(), log: jest.fn() } });
    await expect(sessions.authorizeAccess(tokens.access)).rejects.toBeInstanceOf(UnauthorizedError);
    expect(warn).toHaveBeenCalledTimes(1);
    await close();
  });

  describe('review findings', () => {
    it('refuses an ioredis client with a keyPrefix of its own, which the scripts and SCAN patterns would miss', async () => {
      const prefixed = new Redis(server.url, { keyPrefix: 'app:', lazyConnect: true });
      expect(() => new RedisTokenStore(prefixed)).toThrow(MalconfiguredError);
      await expect(setup({ store: { type: 'redis', url: server.url, redisOptions: { keyPrefix: 'app:' } } })).rejects.toThrow(/keyPrefix/);
      prefixed.disconnect();
    });

    it('opens no Redis connection when the app fails to start on its configuration', async () => {
      const clients = async () => (await admin.client('LIST') as string).trim().split('\n').length;
      const before = await clients();
      await expect(setup({ signingKey: 'short', store: { type: 'redis', url: server.url } })).rejects.toThrow(/signingKey/);
      await expect(setup({ store: { type: 'redis', url: server.url, redisOptions: { keyPrefix: 'x:' } } })).rejects.toThrow(/keyPrefix/);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await clients()).toBe(before);
    });

    it('refuses a prefix with braces however the store is built', () => {
      const client = new Redis(server.url, { lazyConnect: true });
      for (const prefix of ['{', 'a{b}', '}']) expect(() => new RedisTokenStore(client, { prefix })).toThrow(MalconfiguredError);
      client.disconnect();
    });

    it('never leaves a key without a TTL, even for an absurd expiry', async () => {
      const { sessions, store, close } = await redisSetup();
      await expect(sessions.login({ refreshExpiresIn: 1e16 })).rejects.toMatchObject({ code: 'ERR_JWT_SESSIONS_INVALID_PAYLOAD' });
      const now = Math.floor(Date.now() / 1000);
      const uid = store.createSessionId('huge');
      const huge = { uid, namespace: 'huge', csrf: 'c', accessUid: 'a', accessExpiresAt: now + 1, expiresAt: 1e17, createdAt: now, refreshByAccessAllowed: false,
        refreshedAt: now, idleExpiresAt: 0, refreshUid: '', rotation: null, userAgent: null, ip: null };
      await expect(store.create(huge, now)).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(await admin.keys('*')).toEqual([]);
      await close();
    });

    it('answers 503 within its own deadline on a client with ioredis defaults (an offline queue without timeout)', async () => {
      const client = new Redis(server.url);
      const { sessions, close } = await setup({ store: { type: 'redis', client, commandTimeout: 300 } }, new ManualClock(Date.now()));
      const tokens = await sessions.login({});
      await server.stop();
      try {
        for (let attempt = 0; attempt < 2; attempt++) {
          const started = Date.now();
          await expect(sessions.authorizeAccess(tokens.access)).rejects.toBeInstanceOf(StoreUnavailableError);
          expect(Date.now() - started).toBeLessThan(1500);
        }
      } finally {
        await server.resume();
        await close();
        client.disconnect();
      }
    }, 20_000);

    it('answers success again to a resent relink, instead of logging the client out', async () => {
      const { sessions, store, close } = await redisSetup();
      const tokens = await sessions.login({});
      const now = Math.floor(Date.now() / 1000);
      const { session } = await sessions.authorizeRefresh(tokens.refresh);
      const link = { accessUid: 'resent-uid', accessExpiresAt: now + 60, csrf: session.csrf, refreshedAt: now, idleExpiresAt: 0 };
      expect(await store.relink(session.uid, session.accessUid, link, now)).toMatchObject(link);
      expect(await store.relink(session.uid, session.accessUid, link, now)).toMatchObject(link);
      expect(await store.relink(session.uid, session.accessUid, { ...link, accessUid: 'another' }, now)).toBeNull();
      await close();
    });

    it('flushes all without touching other applications\' keys, and counts only its own sessions', async () => {
      await admin.set('apps:config', '1');
      await admin.set('s:cache', '1');
      await admin.hset('jwt_s:other-app', 'e', String(Math.floor(Date.now() / 1000) + 1000));
      const { sessions, close } = await redisSetup();
      await sessions.login({ namespace: 'mine' });
      await sessions.login({});
      expect(await sessions.flushAll()).toBe(2);
      expect((await admin.keys('*')).sort()).toEqual(['apps:config', 'jwt_s:other-app', 's:cache']);
      await close();
      const short = await setup({ store: { type: 'redis', url: server.url, prefix: 'app' } }, new ManualClock(Date.now()));
      await short.sessions.login({});
      expect(await short.sessions.flushAll()).toBe(1);
      expect(await admin.exists('apps:config')).toBe(1);
      await short.close();
    });

    it('leaves no live session outside its namespace index when a login lands in the middle of flushAll', async () => {
      const client = new Redis(server.url);
      const { sessions, close } = await setup({ store: { type: 'redis', client } }, new ManualClock(Date.now()));
      await sessions.login({ namespace: 'racing' });
      const scan = client.scan.bind(client);
      let injected = false;
      client.scan = (async (...args: Parameters<typeof client.scan>) => {
        if (!injected) {
          injected = true;
          await sessions.login({ namespace: 'racing' });
        }
        return scan(...args);
      }) as typeof client.scan;
      await sessions.flushAll();
      const listed = await sessions.listSessions('racing');
      expect(await sessions.flushNamespaced('racing')).toBe(listed.length);
      expect(await admin.keys('jwt_s:*')).toEqual([]);
      await close();
      client.disconnect();
    });

    it('shortens an index\'s TTL when its longest-lived session is flushed', async () => {
      const { sessions, close } = await redisSetup();
      await sessions.login({ namespace: 'ttl', refreshExpiresIn: 100 });
      const long = await sessions.login({ namespace: 'ttl', refreshExpiresIn: 100_000 });
      const [index] = await admin.keys('jwt_n:*');
      expect(await admin.ttl(index)).toBeGreaterThan(99_000);
      await sessions.flushByToken(long.refresh);
      expect(await admin.ttl(index)).toBeLessThanOrEqual(100);
      await close();
    });

    it('refuses namespaces that UTF-8 cannot tell apart (lone surrogates)', async () => {
      const { sessions, close } = await redisSetup();
      await expect(sessions.login({ namespace: 'bob\uD800' })).rejects.toMatchObject({ code: 'ERR_JWT_SESSIONS_INVALID_PAYLOAD' });
      await expect(sessions.listSessions('bob\uDFFF')).rejects.toMatchObject({ code: 'ERR_JWT_SESSIONS_INVALID_PAYLOAD' });
      await sessions.login({ namespace: 'emoji 😀' });
      expect(await sessions.listSessions('emoji 😀')).toHaveLength(1);
      await close();
    });
  });
});
