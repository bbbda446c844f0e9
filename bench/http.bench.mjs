// HTTP throughput of a guarded route next to the same route unguarded, on Express and on Fastify.
// Each setup runs in its own server process; the load generator (autocannon) runs here, in another process, with
// 50 connections spread over 1 000 live sessions. Rounds are interleaved: in each round, each guarded setup runs
// between two runs of its unguarded route, and its ratio is taken over their mean.
// Two things would otherwise tilt the ratios against the guarded setups, measured on this host:
// - a server left idle (a guarded one waits a whole round for its turn, the unguarded one a single run) answered
//   10-40 % slower for its first seconds back in trials here, so every measured run follows a warm-up run of the
//   same server;
// - two processes of one build differ by several per cent (what V8 compiled, where the heap lies), so every round
//   starts fresh server processes (each first loaded for BENCH_START_WARMUP seconds, so that none is measured while
//   V8 is still compiling it and growing its heap), and a process's luck lands in the spread instead of in every
//   round's ratio.
// The `unguarded-twin` row is the unguarded app again, in a process of its own, measured like a guarded setup: how far
// its ratio is off 1.00 is what the method itself puts into every ratio.
// Run: npm run bench:http   (BENCH_ROUNDS, default 8; BENCH_DURATION seconds per run, default 3; BENCH_WARMUP
// seconds of unmeasured load before each run, default 2; BENCH_START_WARMUP, default 3)
import { mkdirSync, writeFileSync } from 'node:fs';
import { ADAPTERS as ALL_ADAPTERS, BASELINE, SETUPS as ALL_SETUPS } from '../dist/bench/http/setups.js';
import { CONNECTIONS, load, startServer } from './lib/http-servers.mjs';
import { startRedis } from './lib/redis-server.mjs';
import { machine, markdownTable, summarize } from './lib/stats.mjs';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 8);
const DURATION = Number(process.env.BENCH_DURATION ?? 3);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
const START_WARMUP = Number(process.env.BENCH_START_WARMUP ?? 3);
/** BENCH_ADAPTERS / BENCH_SETUPS narrow a run (the unguarded baseline always runs). */
const only = (list, variable) => (process.env[variable] ? list.filter((item) => process.env[variable].split(',').includes(item)) : list);
const ADAPTERS = only(ALL_ADAPTERS, 'BENCH_ADAPTERS');
const chosen = only(ALL_SETUPS, 'BENCH_SETUPS');
const SETUPS = ALL_SETUPS.filter((setup) => chosen.includes(setup) || chosen.some((other) => BASELINE[other] === setup));
const BASELINES = SETUPS.filter((setup) => BASELINE[setup] === setup);

const redis = await startRedis();
let servers = [];

/** One measured run (requests/s), right after a warm-up run of the same server. */
async function measure(server) {
  await load(server, WARMUP);
  return (await load(server, DURATION)).requests.average;
}

/** Stops the servers of a round. */
async function stopServers() {
  await Promise.all(servers.map((server) => server.stop()));
  servers = [];
}

try {
  const rounds = [];
  for (let round = 0; round < ROUNDS; round++) {
    const byKey = new Map();
    for (const adapter of ADAPTERS) {
      for (const setup of SETUPS) {
        const server = await startServer(adapter, setup, redis.url);
        servers.push(server);
        byKey.set(`${adapter}/${setup}`, server);
      }
    }
    for (const server of servers) await load(server, START_WARMUP);
    const measured = {};
    const ratios = {};
    for (const adapter of round % 2 === 0 ? ADAPTERS : [...ADAPTERS].reverse()) {
      for (const baseline of BASELINES) {
        // Each guarded setup runs between two runs of its unguarded route (B g1 B g2 B ...), and its ratio is taken
        // over their mean: on a shared machine whose speed drifts within a round, a neighbour on each side cancels the
        // drift. The guarded setups' order turns each round.
        const group = SETUPS.filter((setup) => setup !== baseline && BASELINE[setup] === baseline);
        const order = [...group.slice(round % Math.max(group.length, 1)), ...group.slice(0, round % Math.max(group.length, 1))];
        const base = () => measure(byKey.get(`${adapter}/${baseline}`));
        const baselines = [await base()];
        for (const setup of order) {
          measured[`${adapter}/${setup}`] = await measure(byKey.get(`${adapter}/${setup}`));
          baselines.push(await base());
          ratios[`${adapter}/${setup}`] = measured[`${adapter}/${setup}`] / ((baselines.at(-2) + baselines.at(-1)) / 2);
        }
        measured[`${adapter}/${baseline}`] = summarize(baselines).median;
        ratios[`${adapter}/${baseline}`] = 1;
      }
    }
    await stopServers();
    rounds.push({ measured, ratios });
    process.stderr.write(`round ${round + 1}/${ROUNDS} done\n`);
  }

  const rows = [];
  for (const adapter of ADAPTERS) {
    for (const setup of SETUPS) {
      const rps = rounds.map((round) => round.measured[`${adapter}/${setup}`]);
      const ratios = rounds.map((round) => round.ratios[`${adapter}/${setup}`]);
      rows.push({ adapter, setup, baseline: BASELINE[setup], rps: summarize(rps), ratio: summarize(ratios), perRound: { rps, ratios } });
    }
  }
  const report = {
    machine: machine(redis.version),
    command: 'npm run bench:http',
    settings: { rounds: ROUNDS, durationSeconds: DURATION, connections: CONNECTIONS, sessions: 1000, warmupSeconds: WARMUP, startWarmupSeconds: START_WARMUP, freshServersEachRound: true },
    rows,
  };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/http.json', `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nHTTP, ${ROUNDS} interleaved rounds of fresh servers, runs of ${DURATION} s each after ${WARMUP} s of warm-up (${START_WARMUP} s for a fresh server), ${CONNECTIONS} connections, 1 000 sessions (medians, [min-max])\n`);
  console.log(markdownTable(['adapter', 'setup', 'req/s', '× its unguarded route'], rows.map((row) => [
    row.adapter,
    row.setup,
    `${Math.round(row.rps.median)} [${Math.round(row.rps.min)}-${Math.round(row.rps.max)}]`,
    row.setup === row.baseline ? 'baseline' : `${row.ratio.median.toFixed(2)} [${row.ratio.min.toFixed(2)}-${row.ratio.max.toFixed(2)}] × ${row.baseline}`,
  ])));
  writeFileSync('bench/results/http.svg', barChart(rows));
} finally {
  await stopServers();
  await redis.stop();
}

/** A grouped bar chart of median requests/s per setup and adapter, written as plain SVG (no external service). */
function barChart(rows) {
  const width = 760, barHeight = 16, gap = 6, left = 170, right = 90;
  const max = Math.max(...rows.map((row) => row.rps.median));
  const colors = { express: '#4c78a8', fastify: '#f58518' };
  const setups = [...new Set(rows.map((row) => row.setup))];
  const groupHeight = ADAPTERS.length * (barHeight + 2) + gap;
  const height = 40 + setups.length * groupHeight + 30;
  const scale = (value) => ((width - left - right) * value) / max;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<text x="${left}" y="20" font-weight="bold">Requests/s, median of ${ROUNDS} interleaved rounds (${CONNECTIONS} connections, 1 000 sessions)</text>`];
  setups.forEach((setup, i) => {
    const top = 34 + i * groupHeight;
    parts.push(`<text x="${left - 8}" y="${top + groupHeight / 2}" text-anchor="end">${setup}</text>`);
    ADAPTERS.forEach((adapter, j) => {
      const row = rows.find((candidate) => candidate.setup === setup && candidate.adapter === adapter);
      if (!row) return;
      const y = top + j * (barHeight + 2);
      const label = row.setup === row.baseline ? '' : ` (${row.ratio.median.toFixed(2)}×)`;
      parts.push(`<rect x="${left}" y="${y}" width="${scale(row.rps.median).toFixed(1)}" height="${barHeight}" fill="${colors[adapter]}"/>`);
      parts.push(`<text x="${(left + scale(row.rps.median) + 4).toFixed(1)}" y="${y + barHeight - 4}">${Math.round(row.rps.median)}${label}</text>`);
    });
  });
  ADAPTERS.forEach((adapter, j) => {
    parts.push(`<rect x="${left + j * 110}" y="${height - 22}" width="12" height="12" fill="${colors[adapter]}"/>`);
    parts.push(`<text x="${left + j * 110 + 16}" y="${height - 12}">${adapter}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
