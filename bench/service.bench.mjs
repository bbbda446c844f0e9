// SessionService operations timed in process, on the memory store and on Redis (a redis-server this script starts):
// login, refresh (plain, and rotating), refreshByAccess, the access check with and without the verified-token cache,
// and logout (flushByToken). Each op runs sequentially over 1 000 distinct sessions, BENCH_ITERATIONS times (default
// 2000) after an untimed pass over all of them; Redis round trips are the commands the store's client sent, per op.
// Run: npm run bench:service   (builds dist/; writes bench/results/service.json and prints a markdown table)
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { NestFactory } from '@nestjs/core';
import { JwtSessionsModule, SessionService, TokenStore } from '../dist/lib/index.js';
import { TestClock } from '../dist/lib/testing/index.js';
import { countCommands } from './lib/command-counter.mjs';
import { startRedis } from './lib/redis-server.mjs';
import { fmt, machine, markdownTable, timeLoop } from './lib/stats.mjs';

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 2000);
const POOL = 1000;
// One untimed pass over the pool first: JIT, connections, scripts loaded, and every token seen once (so the cache row hits).
const WARMUP = POOL;

const redis = await startRedis();
const signingKey = randomBytes(32).toString('hex');
const contexts = [];

/** A Nest context of the module with these options; `prefix` keeps each Redis context's keys apart. */
async function context(storeName, prefix, extra = {}) {
  const store = storeName === 'memory' ? { type: 'memory', maxSessions: 1_000_000 } : { type: 'redis', url: redis.url, prefix };
  const app = await NestFactory.createApplicationContext(JwtSessionsModule.forRoot({ signingKey, store, ...extra }), { logger: false });
  contexts.push(app);
  const tokenStore = app.get(TokenStore);
  return { app, sessions: app.get(SessionService), counter: tokenStore.client ? countCommands(tokenStore.client) : null };
}

const login = (sessions, i) => sessions.login({ payload: { user_id: i % POOL, role: 'user' }, namespace: `user-${i % POOL}`, refreshByAccessAllowed: true });

/** Logs in `count` sessions (untimed); answers their tokens. */
async function pool(sessions, count = POOL) {
  const tokens = [];
  for (let i = 0; i < count; i++) tokens.push(await login(sessions, i));
  return tokens;
}

/** Times `op(i)` ITERATIONS times after WARMUP untimed calls (i continues), counting the store's commands. */
async function measure(store, op, variant, ctx, fn) {
  for (let i = 0; i < WARMUP; i++) await fn(i);
  ctx.counter?.start();
  const stats = await timeLoop(ITERATIONS, (i) => fn(WARMUP + i));
  ctx.counter?.stop();
  const commands = ctx.counter?.read() ?? null;
  const row = {
    store, op, variant, iterations: ITERATIONS, sessions: POOL,
    medianUs: stats.median, p90Us: stats.p90, minUs: stats.min, maxUs: stats.max, meanUs: stats.mean, opsPerSec: stats.opsPerSec,
    roundTrips: commands ? commands.total / ITERATIONS : null,
    commands: commands ? Object.fromEntries(Object.entries(commands.byName).map(([name, n]) => [name, n / ITERATIONS])) : null,
  };
  console.error(`${store} ${op}${variant ? ` (${variant})` : ''}: median ${fmt(row.medianUs)} µs, p90 ${fmt(row.p90Us)} µs, ${fmt(row.opsPerSec)} ops/s${commands ? `, ${row.roundTrips} round trips` : ''}`);
  return row;
}

const rows = [];
try {
  for (const store of ['memory', 'redis']) {
    const plain = await context(store, 'jwt_');
    const noCache = await context(store, 'jwtnc_', { verifiedTokenCacheSize: 0 });
    // Refreshes come after the access token expired, as they do in use: the clock steps a minute on each pass over the
    // pool (an early refresh would ask onEarlyRefresh in between, a second store round trip).
    const rotatingClock = new TestClock();
    const rotating = await context(store, 'jwtrot_', { rotateRefreshTokens: true, accessExpiresIn: 60, clock: rotatingClock });

    rows.push(await measure(store, 'login', '', plain, (i) => login(plain.sessions, i)));

    const tokens = await pool(plain.sessions);
    rows.push(await measure(store, 'authorizeAccess', 'verified-token cache on, the default', plain, (i) => plain.sessions.authorizeAccess(tokens[i % POOL].access)));
    const uncachedTokens = await pool(noCache.sessions);
    rows.push(await measure(store, 'authorizeAccess', 'verifiedTokenCacheSize: 0', noCache, (i) => noCache.sessions.authorizeAccess(uncachedTokens[i % POOL].access)));

    // A refresh retires the session's access token: keep the latest, for refreshByAccess.
    rows.push(await measure(store, 'refresh', '', plain, async (i) => {
      tokens[i % POOL].access = (await plain.sessions.refresh(tokens[i % POOL].refresh)).access;
    }));
    const rotatingTokens = await pool(rotating.sessions);
    rows.push(await measure(store, 'refresh', 'rotateRefreshTokens', rotating, async (i) => {
      if (i % POOL === 0) rotatingClock.advance(61);
      const { access, refresh } = await rotating.sessions.refresh(rotatingTokens[i % POOL].refresh);
      rotatingTokens[i % POOL] = { access, refresh };
    }));
    rows.push(await measure(store, 'refreshByAccess', '', plain, async (i) => {
      tokens[i % POOL].access = (await plain.sessions.refreshByAccess(tokens[i % POOL].access)).access;
    }));

    // Each logout ends its session: one fresh session per call.
    const doomed = await pool(plain.sessions, WARMUP + ITERATIONS);
    rows.push(await measure(store, 'flushByToken', '', plain, async (i) => {
      if ((await plain.sessions.flushByToken(doomed[i].refresh)) !== 1) throw new Error('flushByToken flushed nothing');
    }));
  }
} finally {
  for (const app of contexts) await app.close();
  await redis.stop();
}

const result = { machine: machine(redis.version), iterations: ITERATIONS, warmup: WARMUP, sessions: POOL, rows };
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/service.json', `${JSON.stringify(result, null, 2)}\n`);

const m = result.machine;
console.log(`SessionService, sequential, ${ITERATIONS} iterations over ${POOL} sessions (${m.cpus} × ${m.model}, Node ${m.node}, Redis ${m.redis}); µs\n`);
const keyOf = (row) => `${row.op}\n${row.variant}`;
const ops = [...new Set(rows.map(keyOf))];
console.log(markdownTable(
  ['operation', 'memory median', 'memory p90', 'memory ops/s (wall)', 'Redis median', 'Redis p90', 'Redis ops/s (wall)', 'Redis round trips'],
  ops.map((key) => {
    const mem = rows.find((row) => row.store === 'memory' && keyOf(row) === key);
    const red = rows.find((row) => row.store === 'redis' && keyOf(row) === key);
    const commands = Object.entries(red.commands).map(([name, n]) => (n === 1 ? name.toUpperCase() : `${fmt(n, 2)} × ${name.toUpperCase()}`)).join(' + ');
    return [
      `${mem.op}${mem.variant ? ` (${mem.variant})` : ''}`,
      fmt(mem.medianUs), fmt(mem.p90Us), fmt(mem.opsPerSec),
      fmt(red.medianUs), fmt(red.p90Us), fmt(red.opsPerSec),
      `${fmt(red.roundTrips, Number.isInteger(red.roundTrips) ? 0 : 2)} (${commands})`,
    ];
  }),
));
