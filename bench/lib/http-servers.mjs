// The HTTP benchmarks' servers and load: one setup's Nest app per process (dist/bench/http/server.js), and autocannon
// spreading requests over the setup's 1 000 sessions.
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './redis-server.mjs';

export const CONNECTIONS = 50;

/**
 * Starts one setup's server (node flags in `nodeArgs`) and reads the credentials it wrote. Answers
 * { adapter, setup, child, url, credentials, stop() }; stop() ends the process and waits for it.
 */
export async function startServer(adapter, setup, redisUrl, nodeArgs = []) {
  const port = await freePort();
  const file = join(tmpdir(), `bench-${adapter}-${setup}-${process.pid}-${port}.json`);
  const child = spawn(process.execPath, [...nodeArgs, 'dist/bench/http/server.js'], {
    env: { ...process.env, BENCH_ADAPTER: adapter, BENCH_SETUP: setup, BENCH_PORT: String(port), BENCH_CREDENTIALS: file, REDIS_URL: redisUrl },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => { if (String(chunk).includes('ready')) resolve(); });
    child.once('exit', (code) => reject(new Error(`${adapter}/${setup} server exited with ${code}`)));
  });
  return {
    adapter,
    setup,
    child,
    url: `http://127.0.0.1:${port}`,
    credentials: JSON.parse(readFileSync(file, 'utf8')),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** One autocannon run; each request takes the next session's headers, so all 1 000 sessions are used. */
export async function load(server, duration) {
  const { method, path, sessions } = server.credentials;
  let next = 0;
  const result = await autocannon({
    url: server.url,
    connections: CONNECTIONS,
    duration,
    requests: [{
      method,
      path,
      setupRequest: (request) => ({ ...request, headers: { ...request.headers, ...sessions[next++ % sessions.length] } }),
    }],
  });
  const failures = result.non2xx + result.errors + result.timeouts;
  if (failures > 0) throw new Error(`${server.adapter}/${server.setup}: ${failures} failed requests of ${result.requests.total}`);
  return result;
}
