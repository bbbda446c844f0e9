// Redis store figures: bytes per session, round trips, and refresh-token authorization time as the number of
// stored sessions grows, next to the gem's SCAN-based lookup reproduced on the same number of keys.
// Run: npm run bench:redis   (builds dist/, starts its own redis-server on a free port, stops it at the end)
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { writeFileSync, mkdirSync } from 'node:fs';
import { NestFactory } from '@nestjs/core';
import { Redis } from 'ioredis';
import { JwtSessionsModule, SessionService, TokenStore } from '../dist/lib/index.js';
import { RedisKeys } from '../dist/lib/store/redis/redis-keys.js';

const SIZES = (process.env.BENCH_SIZES ?? '1000,100000,1000000').split(',').map(Number);
const SAMPLES = 1000;
const GEM_LOOKUPS = 5;

const port = await new Promise((resolve) => {
  const server = createServer().listen(0, '127.0.0.1', () => { const { port } = server.address(); server.close(() => resolve(port)); });
});
const redisServer = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
const url = `redis://127.0.0.1:${port}`;
const admin = new Redis(url);
admin.on('error', () => {}); // refused until redis-server listens; ioredis retries
await admin.ping();
const version = (await admin.info('server')).match(/redis_version:(\S+)/)[1];

const app = await NestFactory.createApplicationContext(
  JwtSessionsModule.forRoot({ signingKey: randomBytes(32).toString('hex'), store: { type: 'redis', url } }),
  { logger: false },
);
const sessions = app.get(SessionService);
const keys = new RedisKeys('jwt_');
const now = Math.floor(Date.now() / 1000);
const csrf = () => randomBytes(32).toString('base64');

/** Writes `count` sessions in our layout (as the store's CREATE script would), pipelined. */
async function fillOurs(count) {
  for (let done = 0; done < count; done += 10000) {
    const pipeline = admin.pipeline();
    for (let i = done; i < Math.min(count, done + 10000); i++) {
      const namespace = `user-${i}`;
      const uid = keys.sessionId(namespace);
      const key = keys.session(uid);
      pipeline.hset(key, 'c', csrf(), 'a', randomUUID(), 'x', now + 3600, 'e', now + 604800, 't', now, 'n', namespace, 'r', '1');
      pipeline.expireat(key, now + 604800);
      pipeline.zadd(keys.index(uid), now + 604800, uid);
      pipeline.expireat(keys.index(uid), now + 604800);
    }
    await pipeline.exec();
  }
}

/** Writes `count` sessions in the gem's layout: an access string and a refresh hash per session. */
async function fillGem(count, db) {
  const client = new Redis(url, { db });
  for (let done = 0; done < count; done += 10000) {
    const pipeline = client.pipeline();
    for (let i = done; i < Math.min(count, done + 10000); i++) {
      const access = randomUUID();
      const token = csrf();
      pipeline.set(`jwt__access_${access}`, token);
      pipeline.expireat(`jwt__access_${access}`, now + 3600);
      const refresh = `jwt__user-${i}_refresh_${randomUUID()}`;
      pipeline.hset(refresh, 'csrf', token, 'access_uid', access, 'access_expiration', now + 3600, 'expiration', now + 604800);
      pipeline.expireat(refresh, now + 604800);
    }
    await pipeline.exec();
  }
  return client;
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
  return client.hmget(found[0], 'csrf', 'access_uid', 'access_expiration', 'expiration');
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function timeEach(items, fn) {
  const times = [];
  for (const item of items) {
    const start = process.hrtime.bigint();
    await fn(item);
    times.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  return { median: median(times), p99: [...times].sort((a, b) => a - b)[Math.floor(times.length * 0.99)] };
}

// Bytes per session, ours and the gem's, for the same session (uuid ids, 44-char CSRF, namespace "user-42").
await admin.flushall();
const one = await sessions.login({ payload: { user_id: 42 }, namespace: 'user-42', refreshByAccessAllowed: true });
const oursKeys = await admin.keys('jwt_*');
const oursBytes = {};
for (const key of oursKeys) oursBytes[key.startsWith('jwt_s:') ? 'session hash' : 'namespace index (1 member)'] = await admin.memory('USAGE', key);
await admin.flushall();
const gemClient = await fillGem(1, 0);
const gemBytes = {};
for (const key of await admin.keys('jwt_*')) gemBytes[key.includes('_access_') ? 'access string' : 'refresh hash'] = await admin.memory('USAGE', key);
gemClient.disconnect();
// The index is shared by a namespace's sessions: its cost per session falls as a user has more of them.
await admin.flushall();
for (let i = 0; i < 10; i++) await sessions.login({ namespace: 'user-42' });
const indexOf10 = await admin.memory('USAGE', (await admin.keys('jwt_n:*'))[0]);

const scaling = [];
for (const size of SIZES) {
  await admin.flushall();
  const targets = [];
  for (let i = 0; i < SAMPLES; i++) targets.push((await sessions.login({ payload: { user_id: i }, namespace: `target-${i % 100}` })).refresh);
  await fillOurs(size - SAMPLES);
  const dbsize = await admin.dbsize();
  await timeEach(targets, (token) => sessions.authorizeRefresh(token)); // warm-up: JIT and connection
  const authorize = await timeEach(targets, (token) => sessions.authorizeRefresh(token));
  // The gem's lookup on the gem's own layout with the same number of sessions, in db 1.
  const gem = await fillGem(size, 1);
  const gemUids = [];
  for (let i = 0; i < GEM_LOOKUPS; i++) {
    const [, batch] = await gem.scan(String(Math.floor(Math.random() * 1000)), 'MATCH', 'jwt__*_refresh_*', 'COUNT', 100);
    if (batch[0]) gemUids.push(batch[0].split('_refresh_')[1]);
  }
  const gemTimes = await timeEach(gemUids, (uid) => gemLookup(gem, uid));
  await gem.flushdb();
  gem.disconnect();
  scaling.push({ sessions: size, keysInDb: dbsize, oursMedianUs: authorize.median, oursP99Us: authorize.p99, gemScanMedianUs: gemTimes.median });
  console.error(`done ${size}`);
}

const flushTimes = [];
for (const size of SIZES.filter((s) => s >= 10000).slice(-1)) {
  // flushNamespaced of a namespace of 10 000 sessions among `size`.
  await admin.flushall();
  await fillOurs(size);
  for (let i = 0; i < 10000; i += 500) await Promise.all(Array.from({ length: 500 }, () => sessions.login({ namespace: 'big' })));
  await sessions.login({ namespace: 'small' });
  let start = process.hrtime.bigint();
  const flushedBig = await sessions.flushNamespaced('big');
  const bigMs = Number(process.hrtime.bigint() - start) / 1e6;
  start = process.hrtime.bigint();
  const flushedSmall = await sessions.flushNamespaced('small');
  const smallMs = Number(process.hrtime.bigint() - start) / 1e6;
  flushTimes.push({ among: size, flushedBig, bigMs, flushedSmall, smallMs });
}

const result = {
  machine: `${execFileSync('nproc').toString().trim()} cores, Node ${process.version}, Redis ${version}`,
  bytesPerSession: { ours: oursBytes, oursIndexWith10Sessions: indexOf10, gem: gemBytes },
  scaling,
  flushNamespaced: flushTimes,
};
console.log(JSON.stringify(result, null, 2));
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/redis-store.json', `${JSON.stringify(result, null, 2)}\n`);

await app.close();
admin.disconnect();
redisServer.kill('SIGKILL');
