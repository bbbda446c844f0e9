// How the stores scale: bytes per session (Redis: ours next to the gem's layout; memory store: heap per session),
// and refresh-token authorization and access-check time as the number of stored sessions grows (target: the largest
// size within 1.2× of the smallest), next to the gem's SCAN-based refresh lookup reproduced on the same number of
// keys; and flushNamespaced of a big and of a one-session namespace among all of them.
// Run: npm run bench:scaling   (builds dist/, runs node --expose-gc, starts its own redis-server on a free port)
// Env: BENCH_SIZES (default 1000,100000,1000000), BENCH_SAMPLES or BENCH_ITERATIONS (timed calls per size, default
// 2000 over 1 000 sessions), BENCH_GEM_LOOKUPS (default 5), BENCH_MEMORY_SESSIONS (default 100000).
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { NestFactory } from '@nestjs/core';
import { Redis } from 'ioredis';
import { JwtSessionsModule, SessionService } from '../dist/lib/index.js';
import { RedisKeys } from '../dist/lib/store/redis/redis-keys.js';
import { newTokenId } from '../dist/lib/session/token-issuer.js';
import { startRedis } from './lib/redis-server.mjs';
import { fmt, machine, markdownTable, since, summarize, timeLoop } from './lib/stats.mjs';

const SIZES = (process.env.BENCH_SIZES ?? '1000,100000,1000000').split(',').map(Number).sort((a, b) => a - b);
const TARGETS = 1000;
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? process.env.BENCH_ITERATIONS ?? 2000);
const GEM_LOOKUPS = Number(process.env.BENCH_GEM_LOOKUPS ?? 5);
const MEMORY_SESSIONS = Number(process.env.BENCH_MEMORY_SESSIONS ?? 100_000);
const ACCESS_EXPIRES_IN = 3600;
const REFRESH_EXPIRES_IN = 604800;
const FILL_BATCH = 10_000;
if (typeof global.gc !== 'function') throw new Error('run with node --expose-gc (npm run bench:scaling does)');

const signingKey = randomBytes(32).toString('hex');
const csrf = () => randomBytes(32).toString('base64');
const nowSeconds = () => Math.floor(Date.now() / 1000);
const log = (message) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${message}`);

// ---- Memory store: heap per session -------------------------------------------------------------------------------

/** heapUsed growth per session over `count` logins into a MemoryTokenStore, after full GCs before and after. */
async function memoryBytesPerSession(label, count, loginOptions) {
  const app = await NestFactory.createApplicationContext(
    JwtSessionsModule.forRoot({ signingKey, store: { type: 'memory', maxSessions: count + 1 } }),
    { logger: false },
  );
  const sessions = app.get(SessionService);
  await sessions.login(loginOptions(0)); // the module's lazy state (keys imported, JIT) out of the measurement
  global.gc(); global.gc();
  const before = process.memoryUsage().heapUsed;
  const start = process.hrtime.bigint();
  for (let i = 1; i <= count; i++) await sessions.login(loginOptions(i));
  const seconds = since(start) / 1e6;
  global.gc(); global.gc();
  const after = process.memoryUsage().heapUsed;
  await app.close();
  const row = { variant: label, sessions: count, heapUsedDelta: after - before, bytesPerSession: (after - before) / count, loginSeconds: seconds };
  log(`memory store, ${label}: ${fmt(row.bytesPerSession)} bytes per session`);
  return row;
}

const typicalLogin = (i) => ({ payload: { user_id: i, role: 'user' }, namespace: `user-${i}` });
// Strings built per login, as values read from request headers would be.
const withClient = (i) => ({
  ...typicalLogin(i),
  userAgent: `Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.${i % 6000}.${i % 200} Safari/537.36`,
  ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
});
const memoryStore = [
  await memoryBytesPerSession('namespace, no user agent or IP', MEMORY_SESSIONS, typicalLogin),
  await memoryBytesPerSession('namespace, user agent and IP', MEMORY_SESSIONS, withClient),
];

// ---- Redis --------------------------------------------------------------------------------------------------------

const redis = await startRedis();
const { admin, url } = redis;
const app = await NestFactory.createApplicationContext(
  JwtSessionsModule.forRoot({ signingKey, store: { type: 'redis', url } }),
  { logger: false },
);
const sessions = app.get(SessionService);
// The control: the same sessions' twins in db 2 of the same redis-server, which never holds more than TARGETS sessions,
// timed interleaved with the growing db 0, so that load from other processes (which moves timings by 2× on a shared
// machine) cancels out of the ratios, while each lookup still runs on a keyspace of its own size.
const controlApp = await NestFactory.createApplicationContext(
  JwtSessionsModule.forRoot({ signingKey, store: { type: 'redis', url: `${url}/2` } }),
  { logger: false },
);
const control = controlApp.get(SessionService);
const keys = new RedisKeys('jwt_');
const usedMemory = async (client = admin) => Number((await client.info('memory')).match(/used_memory:(\d+)/)[1]);

/**
 * Writes `count` sessions in our layout, pipelined, exactly as a login's CREATE script writes them (no idle timeout,
 * no rotation, no user agent or IP, not refreshable by access): fields c a x e t n r l, EXPIREAT at the session's end,
 * and the namespace index entry scored by that end, with the index's EXPIREAT at its last member's end.
 * Namespaces are `user-<n>`, one session each.
 */
async function fillOurs(count, from = 0) {
  for (let done = 0; done < count; done += FILL_BATCH) {
    const now = nowSeconds();
    const end = now + REFRESH_EXPIRES_IN;
    const pipeline = admin.pipeline();
    for (let i = from + done; i < from + Math.min(count, done + FILL_BATCH); i++) {
      const namespace = `user-${i}`;
      const uid = keys.sessionId(namespace);
      const key = keys.session(uid);
      pipeline.hset(key, 'c', csrf(), 'a', newTokenId(), 'x', now + ACCESS_EXPIRES_IN, 'e', end, 't', now, 'n', namespace, 'r', '0', 'l', now);
      pipeline.expireat(key, end);
      pipeline.zadd(keys.index(uid), end, uid);
      pipeline.expireat(keys.index(uid), end);
    }
    const failed = (await pipeline.exec()).find(([error]) => error);
    if (failed) throw failed[0];
  }
}

/** Checks fillOurs against a real login: same fields, value lengths, TTLs and MEMORY USAGE. Throws on a difference. */
async function checkFillMatchesLogin() {
  await admin.flushall();
  await sessions.login({ payload: { user_id: 1 }, namespace: 'user-1' }); // same namespace length as fillOurs' user-0
  const [loginKey] = await admin.keys('jwt_s:*');
  const [loginIndex] = await admin.keys('jwt_n:*');
  await fillOurs(1);
  const fillKey = (await admin.keys('jwt_s:*')).find((key) => key !== loginKey);
  const fillIndex = (await admin.keys('jwt_n:*')).find((key) => key !== loginIndex);
  const describe = async (key, index) => {
    const hash = await admin.hgetall(key);
    return {
      fields: Object.keys(hash).sort().map((field) => `${field}:${hash[field].length}`).join(' '),
      ttl: await admin.ttl(key),
      indexTtl: await admin.ttl(index),
      indexMembers: await admin.zcard(index),
      bytes: await admin.memory('USAGE', key),
      indexBytes: await admin.memory('USAGE', index),
    };
  };
  const login = await describe(loginKey, loginIndex);
  const fill = await describe(fillKey, fillIndex);
  const problems = Object.keys(login).filter((name) => (name.endsWith('tl') ? Math.abs(login[name] - fill[name]) > 2 : login[name] !== fill[name]));
  if (problems.length > 0) throw new Error(`fillOurs does not write what a login writes (${problems.join(', ')}): login ${JSON.stringify(login)}, fill ${JSON.stringify(fill)}`);
  log(`fillOurs writes what a login writes: ${login.fields}; ${login.bytes} + ${login.indexBytes} bytes`);
  return { login, fill };
}

/** Writes `count` sessions in the gem's layout: an access string and a refresh hash per session. Answers a few uids. */
async function fillGem(client, count, from = 0) {
  const now = nowSeconds();
  const picked = [];
  for (let done = 0; done < count; done += FILL_BATCH) {
    const pipeline = client.pipeline();
    for (let i = from + done; i < from + Math.min(count, done + FILL_BATCH); i++) {
      const access = randomUUID();
      const token = csrf();
      pipeline.set(`jwt__access_${access}`, token);
      pipeline.expireat(`jwt__access_${access}`, now + ACCESS_EXPIRES_IN);
      const uid = randomUUID();
      const refresh = `jwt__user-${i}_refresh_${uid}`;
      pipeline.hset(refresh, 'csrf', token, 'access_uid', access, 'access_expiration', now + ACCESS_EXPIRES_IN, 'expiration', now + REFRESH_EXPIRES_IN);
      pipeline.expireat(refresh, now + REFRESH_EXPIRES_IN);
      if (picked.length < GEM_LOOKUPS && Math.random() < (GEM_LOOKUPS * 2) / count) picked.push(uid);
    }
    await pipeline.exec();
  }
  return picked;
}

/** The gem's refresh lookup by uid (RedisStoreAdapter#first_refresh_key): SCAN the whole keyspace, then HMGET. */
async function gemLookup(client, uid) {
  let cursor = '0';
  const found = [];
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', `jwt__*_refresh_${uid}`, 'COUNT', 1000);
    cursor = next;
    found.push(...batch);
  } while (cursor !== '0');
  if (found.length !== 1) throw new Error(`gem lookup found ${found.length} keys for ${uid}`);
  return client.hmget(found[0], 'csrf', 'access_uid', 'access_expiration', 'expiration');
}

let layoutCheck;
const bytesPerSession = {};
const scaling = [];
const flushNamespaced = [];
const gem = new Redis(url, { db: 1 });
try {
  layoutCheck = await checkFillMatchesLogin();

  // Bytes per session, ours and the gem's, for the same session (44-char CSRF secret, namespace "user-42").
  await admin.flushall();
  await sessions.login({ payload: { user_id: 42 }, namespace: 'user-42' });
  bytesPerSession.ours = {
    sessionHash: await admin.memory('USAGE', (await admin.keys('jwt_s:*'))[0]),
    namespaceIndexOf1: await admin.memory('USAGE', (await admin.keys('jwt_n:*'))[0]),
  };
  await admin.flushall();
  await sessions.login({ payload: { user_id: 42 } });
  bytesPerSession.ours.sessionHashWithoutNamespace = await admin.memory('USAGE', (await admin.keys('jwt_s:*'))[0]);
  await admin.flushall();
  for (let i = 0; i < 10; i++) await sessions.login({ namespace: 'user-42' });
  bytesPerSession.ours.namespaceIndexOf10 = await admin.memory('USAGE', (await admin.keys('jwt_n:*'))[0]);
  await admin.flushall();
  await fillGem(gem, 1, 42);
  bytesPerSession.gem = {};
  for (const key of await gem.keys('jwt_*')) bytesPerSession.gem[key.includes('_access_') ? 'accessString' : 'refreshHash'] = await gem.memory('USAGE', key);
  await admin.flushall();

  // Scaling: the stores grow from one size to the next; the same TARGETS sessions are timed at each size.
  const targets = [];
  const controlTargets = [];
  for (let i = 0; i < TARGETS; i++) {
    targets.push(await sessions.login({ payload: { user_id: i }, namespace: `target-${i % 100}` }));
    controlTargets.push(await control.login({ payload: { user_id: i }, namespace: `target-${i % 100}` }));
  }
  let ours = TARGETS;
  let gemStored = 0;
  let gemUids = [];
  for (const size of SIZES) {
    let start = process.hrtime.bigint();
    const memoryBefore = await usedMemory();
    await fillOurs(Math.max(0, size - ours), ours);
    const added = Math.max(0, size - ours);
    const fillSeconds = since(start) / 1e6;
    const redisBytesPerSession = added >= 10_000 ? ((await usedMemory()) - memoryBefore) / added : null;
    ours = Math.max(ours, size);
    const keysInDb = await admin.dbsize();
    log(`${fmt(size)} sessions stored (${fmt(added)} written in ${fmt(fillSeconds, 1)} s)`);

    // Let Redis finish rehashing its grown keyspace and the fill's garbage be collected before timing.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    global.gc();
    for (const [service, tokens] of [[sessions, targets], [control, controlTargets]]) { // warm-up: JIT, connection, cache
      await timeLoop(TARGETS, (i) => service.authorizeRefresh(tokens[i].refresh));
      await timeLoop(TARGETS, (i) => service.authorizeAccess(tokens[i].access));
    }
    // Interleaved, so that a burst of load from other processes hits every row alike.
    const times = { refresh: [], access: [], controlRefresh: [], controlAccess: [] };
    const timed = async (list, call) => {
      const start = process.hrtime.bigint();
      await call();
      list.push(since(start));
    };
    for (let i = 0; i < SAMPLES; i++) {
      const k = i % TARGETS;
      await timed(times.refresh, () => sessions.authorizeRefresh(targets[k].refresh));
      await timed(times.controlRefresh, () => control.authorizeRefresh(controlTargets[k].refresh));
      await timed(times.access, () => sessions.authorizeAccess(targets[k].access));
      await timed(times.controlAccess, () => control.authorizeAccess(controlTargets[k].access));
    }
    const [refresh, access, controlRefresh, controlAccess] = [times.refresh, times.access, times.controlRefresh, times.controlAccess].map(summarize);

    // The gem's lookup on the gem's own layout with the same number of sessions, in db 1.
    start = process.hrtime.bigint();
    const gemMemoryBefore = await usedMemory();
    const picked = await fillGem(gem, size - gemStored, gemStored);
    const gemBytesPerSession = size - gemStored >= 10_000 ? ((await usedMemory()) - gemMemoryBefore) / (size - gemStored) : null;
    gemStored = size;
    gemUids = picked.length > 0 ? picked : gemUids;
    log(`gem layout: ${fmt(size)} sessions (${fmt(since(start) / 1e6, 1)} s)`);
    const gemTimes = await timeLoop(gemUids.length, (i) => gemLookup(gem, gemUids[i]));

    scaling.push({
      sessions: size, keysInDb, redisBytesPerSession, gemRedisBytesPerSession: gemBytesPerSession,
      authorizeRefresh: { medianUs: refresh.median, p90Us: refresh.p90, minUs: refresh.min, maxUs: refresh.max, samples: refresh.n },
      authorizeAccess: { medianUs: access.median, p90Us: access.p90, minUs: access.min, maxUs: access.max, samples: access.n },
      control: { sessions: TARGETS, authorizeRefreshMedianUs: controlRefresh.median, authorizeAccessMedianUs: controlAccess.median },
      vsControl: { authorizeRefresh: refresh.median / controlRefresh.median, authorizeAccess: access.median / controlAccess.median },
      gemScanLookup: { medianUs: gemTimes.median, minUs: gemTimes.min, maxUs: gemTimes.max, samples: gemTimes.n },
    });
    log(`refresh auth median ${fmt(refresh.median)} µs (control ${fmt(controlRefresh.median)}), access check median ${fmt(access.median)} µs (control ${fmt(controlAccess.median)}), gem SCAN median ${fmt(gemTimes.median)} µs`);
  }
  await gem.flushdb();

  // flushNamespaced of a 10 000-session namespace, and of a one-session namespace, among all the sessions stored.
  const among = ours;
  for (let i = 0; i < 10_000; i += 500) await Promise.all(Array.from({ length: 500 }, () => sessions.login({ namespace: 'big' })));
  await sessions.login({ namespace: 'small' });
  let start = process.hrtime.bigint();
  const flushedBig = await sessions.flushNamespaced('big');
  const bigMs = since(start) / 1000;
  start = process.hrtime.bigint();
  const flushedSmall = await sessions.flushNamespaced('small');
  const smallMs = since(start) / 1000;
  flushNamespaced.push({ among, flushedBig, bigMs, flushedSmall, smallMs });
} finally {
  gem.disconnect();
  await app.close();
  await controlApp.close();
  await redis.stop();
}

const first = scaling[0];
const last = scaling[scaling.length - 1];
const ratios = {
  of: `${last.sessions} / ${first.sessions} sessions (median)`,
  authorizeRefresh: last.authorizeRefresh.medianUs / first.authorizeRefresh.medianUs,
  authorizeAccess: last.authorizeAccess.medianUs / first.authorizeAccess.medianUs,
  // Each size against the control measured alongside it, then largest over smallest: what the load did cancels out.
  authorizeRefreshVsControl: last.vsControl.authorizeRefresh / first.vsControl.authorizeRefresh,
  authorizeAccessVsControl: last.vsControl.authorizeAccess / first.vsControl.authorizeAccess,
  target: 1.2,
};
const result = {
  machine: machine(redis.version),
  settings: {
    sizes: SIZES, timedSessions: TARGETS, samples: SAMPLES, gemLookups: GEM_LOOKUPS,
    verifiedTokenCache: 'default (on): every timed token was verified once in an untimed pass, so timings are a cache hit plus the store lookup',
  },
  layoutCheck,
  bytesPerSession,
  memoryStore,
  scaling,
  ratios,
  flushNamespaced,
};
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/scaling.json', `${JSON.stringify(result, null, 2)}\n`);

const m = result.machine;
const b = bytesPerSession;
console.log(`Scaling (${m.cpus} × ${m.model}, Node ${m.node}, Redis ${m.redis}); ${SAMPLES} calls of each (sequential; refresh and access, ours and control, interleaved) over ${TARGETS} sessions per size; verified-token cache on (default, warm); µs\n`);
console.log(markdownTable(
  ['sessions stored', 'keys in Redis (ours)', 'refresh auth median (control)', 'refresh auth p90', 'access check median (control)', 'access check p90',
    'gem SCAN lookup median', 'Redis bytes/session (used_memory), ours / gem'],
  [
    ...scaling.map((row) => [
      fmt(row.sessions), fmt(row.keysInDb),
      `${fmt(row.authorizeRefresh.medianUs)} (${fmt(row.control.authorizeRefreshMedianUs)})`, fmt(row.authorizeRefresh.p90Us),
      `${fmt(row.authorizeAccess.medianUs)} (${fmt(row.control.authorizeAccessMedianUs)})`, fmt(row.authorizeAccess.p90Us),
      fmt(row.gemScanLookup.medianUs),
      row.redisBytesPerSession === null ? '—' : `${fmt(row.redisBytesPerSession)} / ${fmt(row.gemRedisBytesPerSession)}`,
    ]),
    [`**${fmt(last.sessions)} / ${fmt(first.sessions)}**, raw`, '', `${fmt(ratios.authorizeRefresh, 2)}×`, '', `${fmt(ratios.authorizeAccess, 2)}×`, '',
      `${fmt(last.gemScanLookup.medianUs / first.gemScanLookup.medianUs)}×`, ''],
    [`**${fmt(last.sessions)} / ${fmt(first.sessions)}**, each over its control`, '', `**${fmt(ratios.authorizeRefreshVsControl, 2)}×**`, '',
      `**${fmt(ratios.authorizeAccessVsControl, 2)}×**`, '', '', ''],
  ],
));
console.log(`\n(control: db 2 of the same redis-server, holding only the ${TARGETS} timed sessions' twins, timed interleaved with the growing db 0; target ≤ ${ratios.target}×)`);
console.log('\nRedis MEMORY USAGE per session (one session: 44-char CSRF secret, namespace "user-42")\n');
console.log(markdownTable(['layout', 'keys', 'bytes per session'], [
  ['ours, user with one session', `session hash ${b.ours.sessionHash} + namespace index ${b.ours.namespaceIndexOf1}`, `**${b.ours.sessionHash + b.ours.namespaceIndexOf1}**`],
  ['ours, user with ten sessions', `${b.ours.sessionHash} + ${b.ours.namespaceIndexOf10} / 10`, `**${fmt(b.ours.sessionHash + b.ours.namespaceIndexOf10 / 10)}**`],
  ['ours, session without namespace', `session hash ${b.ours.sessionHashWithoutNamespace}`, `**${b.ours.sessionHashWithoutNamespace}**`],
  ["the gem's (uuid ids)", `access string ${b.gem.accessString} + refresh hash ${b.gem.refreshHash}`, `**${b.gem.accessString + b.gem.refreshHash}**`],
]));
console.log(`\nMemory store: V8 heap per session (heapUsed growth over ${fmt(MEMORY_SESSIONS)} logins, after gc())\n`);
console.log(markdownTable(['sessions', 'bytes per session', 'login time'], memoryStore.map((row) => [
  row.variant, `**${fmt(row.bytesPerSession)}**`, `${fmt(row.loginSeconds, 1)} s for ${fmt(row.sessions)}`,
])));
console.log('\nflushNamespaced\n');
console.log(markdownTable(['namespace size', `time, among ${fmt(flushNamespaced[0].among)} sessions`], [
  [`${fmt(flushNamespaced[0].flushedBig)} sessions`, `${fmt(flushNamespaced[0].bigMs, 1)} ms`],
  [`${fmt(flushNamespaced[0].flushedSmall)} session`, `${fmt(flushNamespaced[0].smallMs, 2)} ms`],
]));
