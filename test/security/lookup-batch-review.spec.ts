/**
 * Attacker-minded review of 704d341: RedisTokenStore.find batches the lookups of one turn of the event loop into one
 * FIND call (up to 256 keys, HGETALL under pcall, one cjson array of rows) that is shared out to the lookups by index.
 *
 * What must hold: a lookup is answered with its own key's row only (missing keys, wrong-type keys, foreign hashes,
 * duplicates, the 256 split, attacker-chosen user agents full of JSON metacharacters); fields are read by name, never
 * by position; a revocation that completed (or was issued) before a lookup is seen by it; a call that fails or misses
 * its deadline fails all its lookups with a 503 and never hands a late reply to someone else; every lookup settles.
 *
 * Findings, both fixed, each pinned by a test below:
 * - (medium) on a server in cluster mode reached through a plain (non-cluster) client — a one-shard cluster, or a
 *   single-endpoint proxy that enforces hash slots — a batch of two or more sessions is a cross-slot EVALSHA: Redis
 *   refused it with CROSSSLOT and every concurrent access check answered 503, while a lone lookup still worked. The
 *   store now reads such a batch key by key and stops batching.
 * - (low) with setImmediate faked (jest fake timers in an app's own tests) a lookup never settled, not even at the
 *   store's deadline, which starts only once the batch is sent. The batch now uses node:timers' own setImmediate.
 */
import { describe, expect, it, jest } from '@jest/globals';
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import {
  RedisTokenStore, SessionService, StoreUnavailableError, UnauthorizedError, type StoredSession,
} from '../../lib/index.js';
import { RedisKeys } from '../../lib/store/redis/redis-keys.js';
import { FIND } from '../../lib/store/redis/redis-scripts.js';
import { ManualClock } from '../support/manual-clock.js';
import { RedisServer, useRedisServer } from '../support/redis-server.js';
import { decodePayload, setup } from '../support/setup.js';
import { unrotated } from '../support/stored-session.js';
import { countRoundTrips } from '../support/round-trips.js';

const keys = new RedisKeys('jwt_');
const FIND_SHA = createHash('sha1').update(FIND).digest('hex');
const nowSeconds = () => Math.floor(Date.now() / 1000);
/** The real timers, kept before any test fakes them. */
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;

/** A promise's outcome, or 'pending' if it has not settled after `ms` real milliseconds. */
async function settledWithin<T>(promise: Promise<T>, ms: number): Promise<PromiseSettledResult<T> | 'pending'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'pending'>((resolve) => (timer = realSetTimeout(() => resolve('pending'), ms)));
  const outcome = promise.then(
    (value): PromiseSettledResult<T> => ({ status: 'fulfilled', value }),
    (reason: unknown): PromiseSettledResult<T> => ({ status: 'rejected', reason }),
  );
  try {
    return await Promise.race([outcome, late]);
  } finally {
    realClearTimeout(timer);
  }
}

let seq = 0;
/** A session with values of its own in every field, so that a row handed to the wrong lookup shows. */
function session(now: number, extra: Partial<StoredSession> = {}): StoredSession {
  const n = ++seq;
  return {
    uid: keys.sessionId(extra.namespace ?? null),
    namespace: null,
    csrf: `csrf-${n}`,
    accessUid: `access-${n}`,
    accessExpiresAt: now + 600 + n,
    expiresAt: now + 3600 + n,
    createdAt: now - n,
    refreshByAccessAllowed: n % 2 === 0,
    ...unrotated(now - n),
    userAgent: `agent-${n}`,
    ip: `10.0.0.${n % 250}`,
    ...extra,
  };
}

/** A deterministic shuffle/pick source, so that a failure reproduces. */
function prng(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

describe('batched lookups (704d341) under review', () => {
  let server: RedisServer;
  let admin: Redis;

  useRedisServer([], (started, client) => {
    server = started;
    admin = client;
  });

  /** A store over a client of the test's own (no ioredis command timeout, no auto-pipelining), script loaded. */
  async function storeSetup(commandTimeout = 1000) {
    const client = new Redis(server.url);
    const store = new RedisTokenStore(client, { commandTimeout });
    await store.find(keys.sessionId(null), nowSeconds());
    return { client, store, finish: () => client.disconnect() };
  }

  /** Each id looked up alone (one call each): what a batched lookup of it must answer. */
  async function alone(store: RedisTokenStore, ids: string[], now: number): Promise<Map<string, StoredSession | null>> {
    const answers = new Map<string, StoredSession | null>();
    for (const id of ids) answers.set(id, await store.find(id, now));
    return answers;
  }

  it('never hands a lookup a neighbour\'s row: missing, wrong-type and foreign keys, duplicates, across the 256 split', async () => {
    const { client, store, finish } = await storeSetup();
    const now = nowSeconds();
    const live: string[] = [];
    for (let i = 0; i < 40; i++) {
      const stored = session(now, i % 3 === 0 ? { namespace: `user-${i % 5}` } : {});
      await store.create(stored, now);
      live.push(stored.uid);
    }
    const odd = Array.from({ length: 9 }, () => keys.sessionId(null));
    await admin.set(keys.session(odd[0]), 'a string');
    await admin.rpush(keys.session(odd[1]), 'a', 'list');
    await admin.zadd(keys.session(odd[2]), 1, 'zset');
    await admin.sadd(keys.session(odd[3]), 'set');
    // odd[4] is never written: a missing key, whose HGETALL is an empty table that cjson encodes as {}.
    await admin.hset(keys.session(odd[5]), 'foo', 'bar', 'zz', 'top');
    // A foreign hash shaped like a session (as before the change, a well-formed record at a session key is read).
    await admin.hset(keys.session(odd[6]), 'c', 'foreign-csrf', 'a', 'foreign-access', 'x', now + 60, 'e', now + 60, 't', now, 'n', '', 'r', '0');
    await admin.hset(keys.session(odd[7]), 'c', 'c', 'a', 'a', 'x', now + 60, 'e', 'Infinity', 't', now, 'n', '', 'r', '0');
    await admin.xadd(keys.session(odd[8]), '*', 'f', 'v');
    const ids = [...live, ...odd];
    const expected = await alone(store, ids, now);
    expect([...expected.values()].filter(Boolean)).toHaveLength(live.length + 1);

    // 700 lookups: 3 calls (256 + 256 + 188), duplicates everywhere, damaged keys right at both split points.
    const random = prng(7);
    const order = Array.from({ length: 700 }, () => ids[Math.floor(random() * ids.length)]);
    order.splice(254, 4, odd[0], live[0], live[0], odd[4]);
    order.splice(510, 4, odd[8], odd[1], live[1], odd[2]);
    order[0] = odd[4];
    order[699] = odd[0];
    const roundTrips = countRoundTrips(client);
    const found = await Promise.all(order.map((id) => store.find(id, now)));
    expect(roundTrips.take()).toEqual(['evalsha', 'evalsha', 'evalsha']);
    order.forEach((id, i) => expect({ i, id, found: found[i] }).toEqual({ i, id, found: expected.get(id) }));
    finish();
  });

  it('reads HGETALL fields by name, not by position: a hash grown into a hashtable with odd extra fields reads the same', async () => {
    const { store, finish } = await storeSetup();
    const now = nowSeconds();
    const victims = [session(now), session(now), session(now)];
    for (const stored of victims) await store.create(stored, now);
    const [before] = await Promise.all(victims.map((stored) => store.find(stored.uid, now)));
    expect(before).toEqual(victims[0]);

    // Over 128 fields Redis re-encodes the hash as a hashtable: HGETALL then answers in no particular order.
    const junk: string[] = ['__proto__', 'polluted', 'constructor', 'x2', 'length', '99', '0', '1', 'C', 'E', 'e ', ' e', 'err', 'false'];
    for (let i = 0; i < 300; i++) junk.push(`extra-${i}`, String(i));
    await admin.hset(keys.session(victims[0].uid), ...junk);
    const after = await Promise.all(victims.map((stored) => store.find(stored.uid, now)));
    expect(after).toEqual(victims);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    finish();
  });

  it('fails only its own lookup for a field of ours that is not a whole number, whatever the rest of its call', async () => {
    const { store, finish } = await storeSetup();
    const now = nowSeconds();
    const sessions = Array.from({ length: 6 }, () => session(now));
    for (const stored of sessions) await store.create(stored, now);
    await admin.hset(keys.session(sessions[1].uid), 'e', '1e400');
    await admin.hset(keys.session(sessions[2].uid), 't', 'NaN');
    await admin.hset(keys.session(sessions[3].uid), 'l', '1.5');
    await admin.hdel(keys.session(sessions[4].uid), 'c');
    const found = await Promise.all(sessions.map((stored) => store.find(stored.uid, now)));
    expect(found).toEqual([sessions[0], null, null, null, null, sessions[5]]);
    finish();
  });

  it('keeps an attacker\'s user agent full of JSON metacharacters to its own row: neighbours are neither shifted nor forged', async () => {
    const { store, finish } = await storeSetup();
    const now = nowSeconds();
    const agents = [
      '"]],[["c","forged","a","forged"]],"', '\\', '\\"}', '{}', '[]', '\u2028\u2029', '\u0000\u0001\u001f\u007f',
      'é🙂中文', '/'.repeat(512), '['.repeat(512), '"'.repeat(512), 'e', 'c',
    ];
    const all: StoredSession[] = [];
    for (const userAgent of agents) {
      const attacker = session(now, { userAgent, ip: userAgent });
      const victim = session(now);
      await store.create(attacker, now);
      await store.create(victim, now);
      all.push(attacker, victim);
    }
    const found = await Promise.all(all.map((stored) => store.find(stored.uid, now)));
    expect(found).toEqual(all);
    finish();
  });

  describe('ordering with writes (the module over a client it creates: auto-pipelining on)', () => {
    async function moduleSetup(count: number) {
      const context = await setup({ store: { type: 'redis', url: server.url, commandTimeout: 1000 } }, new ManualClock(Date.now()));
      const logins = await Promise.all(Array.from({ length: count }, (_, i) => context.sessions.login({ namespace: `user-${i}` })));
      return { ...context, logins, uids: logins.map((tokens) => String(decodePayload(tokens.refresh).uid)) };
    }

    it('sees a logout that completed before the access check, even when that check shares its call with others', async () => {
      const { sessions, logins, close } = await moduleSetup(8);
      await Promise.all(logins.map((tokens) => sessions.authorizeAccess(tokens.access)));
      await sessions.flushByToken(logins[3].refresh);
      // Issued in the same turn as the logout's completion: one call for all eight.
      const settled = await Promise.allSettled(logins.map((tokens) => sessions.authorizeAccess(tokens.access)));
      expect(settled.map((result) => result.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
      expect((settled[3] as PromiseRejectedResult).reason).toBeInstanceOf(UnauthorizedError);
      await close();
    });

    it('never lets a lookup overtake a deletion issued before it in the same turn (the batch is sent after it)', async () => {
      const { store, uids, close } = await moduleSetup(6);
      const now = nowSeconds();
      await Promise.all(uids.map((uid) => store.find(uid, now)));
      const before = uids.slice(0, 3).map((uid) => store.find(uid, now));
      const deleted = store.delete(uids[1], now);
      const after = uids.map((uid) => store.find(uid, now));
      await deleted;
      expect((await Promise.all(after)).map((found) => found?.uid ?? null)).toEqual([uids[0], null, uids[2], uids[3], uids[4], uids[5]]);
      // Issued before the deletion, in the same turn: either answer is a fair reading, but never someone else's session.
      expect([uids[1], undefined]).toContain((await Promise.all(before))[1]?.uid);
      await close();
    });
  });

  it('fails every lookup of a call that misses its deadline with a 503, and its late reply never answers a later call', async () => {
    const client = new Redis(server.url);
    const short = new RedisTokenStore(client, { commandTimeout: 300 });
    const long = new RedisTokenStore(client, { commandTimeout: 5000 });
    const now = nowSeconds();
    const stored = Array.from({ length: 6 }, () => session(now));
    for (const one of stored) await long.create(one, now);
    await long.find(stored[0].uid, now);
    await short.find(stored[0].uid, now);

    // Redis holds every client's commands for a second: the short store's call times out.
    await admin.call('CLIENT', 'PAUSE', '1000', 'ALL');
    const pausedAt = Date.now();
    const timedOut = await Promise.allSettled(stored.map((one) => short.find(one.uid, now)));
    for (const result of timedOut) expect(result).toMatchObject({ status: 'rejected', reason: expect.any(StoreUnavailableError) });
    // Still paused: this call is queued right behind the timed-out one, whose reply Redis sends first.
    expect(Date.now() - pausedAt).toBeLessThan(900);
    const reversed = [...stored].reverse();
    const found = await Promise.all(reversed.map((one) => long.find(one.uid, now)));
    expect(found).toEqual(reversed);
    // And the short store answers again once Redis does.
    expect(await Promise.all(stored.map((one) => short.find(one.uid, now)))).toEqual(stored);
    client.disconnect();
  }, 15_000);

  it('settles every waiting lookup when the app shuts down in the same turn: its own session or a 503, nothing else', async () => {
    const store = RedisTokenStore.fromOptions({ type: 'redis', url: server.url, commandTimeout: 500 });
    const now = nowSeconds();
    const stored = Array.from({ length: 5 }, () => session(now));
    for (const one of stored) await store.create(one, now);
    await store.find(stored[0].uid, now);
    const waiting = stored.map((one) => store.find(one.uid, now));
    const closing = store.onModuleDestroy();
    const outcomes = await Promise.all(waiting.map((lookup) => settledWithin(lookup, 3000)));
    await closing;
    outcomes.forEach((outcome, i) => {
      expect(outcome).not.toBe('pending');
      if (outcome !== 'pending' && outcome.status === 'fulfilled') expect(outcome.value).toEqual(stored[i]);
      else expect(outcome).toMatchObject({ status: 'rejected', reason: expect.any(StoreUnavailableError) });
    });
  });

  it('answers 503 for the lookups issued after the client has ended, instead of leaving them waiting', async () => {
    const store = RedisTokenStore.fromOptions({ type: 'redis', url: server.url, commandTimeout: 500 });
    const now = nowSeconds();
    const one = session(now);
    await store.create(one, now);
    await store.onModuleDestroy();
    const outcomes = await Promise.all([one.uid, one.uid, keys.sessionId(null)].map((uid) => settledWithin(store.find(uid, now), 3000)));
    for (const outcome of outcomes) expect(outcome).toMatchObject({ status: 'rejected', reason: expect.any(StoreUnavailableError) });
  });

  describe('a reply that is not what FIND answers (a fault injected on a real client: Redis itself cannot send it)', () => {
    /** Makes the client answer FIND with `reply` for one call, the real reply being read first. */
    function corruptNextFind(client: Redis, reply: (real: string) => unknown): void {
      const original = client.evalsha.bind(client) as (...args: unknown[]) => Promise<unknown>;
      (client as unknown as { evalsha: unknown }).evalsha = async (...args: unknown[]) => {
        const real = await original(...args);
        if (args[0] !== FIND_SHA) return real;
        (client as unknown as { evalsha: unknown }).evalsha = original;
        return reply(String(real));
      };
    }

    it.each([
      ['not JSON', () => 'OK'],
      ['truncated JSON', (real: string) => real.slice(0, real.length - 2)],
      ['a JSON object', () => '{"1":["c","x"]}'],
      ['an empty array', () => '[]'],
      ['a number', () => 42],
      ['null', () => null],
    ])('fails closed on %s: every lookup of the call answers no session, none another\'s', async (_, reply) => {
      const { client, store, finish } = await storeSetup();
      const now = nowSeconds();
      const stored = Array.from({ length: 4 }, () => session(now));
      for (const one of stored) await store.create(one, now);
      corruptNextFind(client, reply);
      expect(await Promise.all(stored.map((one) => store.find(one.uid, now)))).toEqual([null, null, null, null]);
      expect(await Promise.all(stored.map((one) => store.find(one.uid, now)))).toEqual(stored);
      finish();
    });

    it('refuses every access check if the rows came back out of order: the token\'s access id must match the row', async () => {
      const client = new Redis(server.url);
      const { sessions, close } = await setup({ store: { type: 'redis', client, commandTimeout: 1000 } }, new ManualClock(Date.now()));
      const logins = await Promise.all(Array.from({ length: 4 }, (_, i) => sessions.login({ namespace: `user-${i}` })));
      await Promise.all(logins.map((tokens) => sessions.authorizeAccess(tokens.access)));
      corruptNextFind(client, (real) => JSON.stringify((JSON.parse(real) as unknown[]).reverse()));
      const settled = await Promise.allSettled(logins.map((tokens) => sessions.authorizeAccess(tokens.access)));
      for (const result of settled) expect(result).toMatchObject({ status: 'rejected', reason: expect.any(UnauthorizedError) });
      await close();
      client.disconnect();
    });
  });

  // Finding (medium, fixed): a server in cluster mode behind a plain client (a one-shard cluster, or a single-endpoint
  // proxy that enforces hash slots) refuses a multi-key EVALSHA across slots with CROSSSLOT; the store skipped batching
  // only for an ioredis Cluster client, so every access check of a busy turn answered 503 while a lone one worked.
  it('answers concurrent lookups on a one-shard cluster reached through a plain client (no CROSSSLOT for all), then stops batching', async () => {
    const node = await RedisServer.start(['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes-single.conf']);
    const client = new Redis(node.url);
    try {
      await node.cli('cluster', 'addslotsrange', '0', '16383');
      for (let i = 0; i < 100 && !(await node.cli('cluster', 'info')).includes('cluster_state:ok'); i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const store = new RedisTokenStore(client, { commandTimeout: 1000 });
      const now = nowSeconds();
      const stored = Array.from({ length: 3 }, () => session(now));
      for (const one of stored) await store.create(one, now);
      // One at a time, every lookup works: the deployment is sound.
      for (const one of stored) expect(await store.find(one.uid, now)).toEqual(one);
      const warn = jest.fn();
      Object.assign(store as object, { logger: { warn, error: jest.fn(), log: jest.fn() } });
      const roundTrips = countRoundTrips(client);
      const settled = await Promise.allSettled(stored.map((one) => store.find(one.uid, now)));
      expect(settled).toEqual(stored.map((value) => ({ status: 'fulfilled', value })));
      // The refused batch, then each key alone; from then on no batch at all, and the operator is told once.
      expect(roundTrips.take()).toEqual(['evalsha', 'evalsha', 'evalsha', 'evalsha']);
      expect(await Promise.all(stored.map((one) => store.find(one.uid, now)))).toEqual(stored);
      expect(roundTrips.take()).toEqual(['evalsha', 'evalsha', 'evalsha']);
      expect(warn).toHaveBeenCalledTimes(1);
    } finally {
      client.disconnect();
      await node.destroy();
    }
  }, 30_000);

  // Finding (low, fixed): with setImmediate faked (jest.useFakeTimers() in an app's own tests, its default fakes it), a
  // lookup waited forever: the batch is flushed by setImmediate, and the store's deadline starts only when it is sent.
  it('settles a lookup while the global setImmediate is faked (an app test with jest fake timers)', async () => {
    const { store, finish } = await storeSetup(500);
    const now = nowSeconds();
    const one = session(now);
    await store.create(one, now);
    jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask', 'setTimeout', 'clearTimeout'] });
    try {
      const outcome = await settledWithin(store.find(one.uid, now), 1500);
      expect(outcome).toEqual({ status: 'fulfilled', value: one });
    } finally {
      jest.useRealTimers();
      finish();
    }
  });

  it('answers the service\'s access checks of one turn each with its own session (guard path, many namespaces)', async () => {
    const client = new Redis(server.url);
    const context = await setup({ store: { type: 'redis', client, commandTimeout: 1000 } }, new ManualClock(Date.now()));
    const service: SessionService = context.sessions;
    const logins = await Promise.all(Array.from({ length: 30 }, (_, i) => service.login({ namespace: `user-${i % 10}`, userAgent: `ua-${i}` })));
    const roundTrips = countRoundTrips(client);
    const authorized = await Promise.all([...logins, ...logins].map((tokens) => service.authorizeAccess(tokens.access)));
    expect(roundTrips.take()).toEqual(['evalsha']);
    authorized.forEach(({ payload, session: found }, i) => {
      expect(found.uid).toBe(payload.ruid);
      expect(found.accessUid).toBe(payload.uid);
      expect(found.userAgent).toBe(`ua-${i % 30}`);
    });
    await context.close();
    client.disconnect();
  });
});
