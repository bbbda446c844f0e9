// Where a guarded request's CPU goes: each setup's server runs under V8's sampling profiler while autocannon loads it,
// and the samples of the measured run are summed per function and divided by the requests served. With two or more
// setups, each function's difference from the first setup is shown, largest first.
// Run: npm run bench:http-profile -- <adapter> <setup>[,<setup>...]   e.g. fastify map-lookup,access-memory
// (BENCH_DURATION seconds of measured load, default 8; 3 s of warm-up before it; BENCH_TOP rows, default 25)
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load, startServer } from './lib/http-servers.mjs';
import { startRedis } from './lib/redis-server.mjs';

const [adapter = 'fastify', list = 'map-lookup,access-memory'] = process.argv.slice(2);
const DURATION = Number(process.env.BENCH_DURATION ?? 8);
const TOP = Number(process.env.BENCH_TOP ?? 25);
/** The profile ends when the server has shut down: only samples this far inside the measured run are counted. */
const MARGIN_US = 400_000;

/** Self time per request (µs) by function, over the interior of the measured run. */
function perRequest(dir, requestsPerSecond) {
  const profile = JSON.parse(readFileSync(join(dir, readdirSync(dir).find((name) => name.endsWith('.cpuprofile'))), 'utf8'));
  const nodes = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  let at = profile.startTime;
  const times = profile.timeDeltas.map((delta) => (at += delta));
  const end = profile.endTime - MARGIN_US;
  const start = end - (DURATION * 1e6 - 2 * MARGIN_US);
  const self = new Map();
  profile.samples.forEach((id, i) => {
    if (times[i] < start || times[i] > end || i + 1 >= times.length) return;
    const frame = nodes.get(id);
    const name = `${frame.functionName || '(anonymous)'} ${frame.url.split('/').slice(-2).join('/')}:${frame.lineNumber + 1}`;
    self.set(name, (self.get(name) ?? 0) + times[i + 1] - times[i]);
  });
  const requests = (requestsPerSecond * (end - start)) / 1e6;
  return new Map([...self].map(([name, us]) => [name, us / requests]));
}

const redis = await startRedis();
try {
  const results = [];
  for (const setup of list.split(',')) {
    const dir = mkdtempSync(join(tmpdir(), 'bench-profile-'));
    const server = await startServer(adapter, setup, redis.url, ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval', '200']);
    await load(server, 3);
    const { requests } = await load(server, DURATION);
    await server.stop();
    const self = perRequest(dir, requests.average);
    const busy = [...self].filter(([name]) => !name.startsWith('(idle)')).reduce((sum, [, us]) => sum + us, 0);
    console.log(`${adapter}/${setup}: ${Math.round(requests.average)} req/s, ${busy.toFixed(1)} µs of CPU per request (sampled)`);
    results.push({ setup, self });
  }
  const [first, ...others] = results;
  const names = new Set(results.flatMap(({ self }) => [...self.keys()]));
  const rows = [...names].map((name) => ({ name, values: results.map(({ self }) => self.get(name) ?? 0) }));
  const spread = (row) => (others.length ? Math.max(...row.values.map((value) => Math.abs(value - row.values[0]))) : row.values[0]);
  rows.sort((a, b) => spread(b) - spread(a));
  console.log(`\nµs per request by function (self time)${others.length ? `, largest differences from ${first.setup} first` : ''}\n`);
  console.log(`| function | ${results.map(({ setup }) => setup).join(' | ')} |\n| --- |${results.map(() => ' ---: |').join('')}`);
  for (const row of rows.slice(0, TOP)) console.log(`| ${row.name} | ${row.values.map((value) => value.toFixed(2)).join(' | ')} |`);
} finally {
  await redis.stop();
}
