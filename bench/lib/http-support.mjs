// Temporary: merged into the shared bench helpers once they land.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { cpus } from 'node:os';
import { Redis } from 'ioredis';

export function freePort() {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => { const { port } = server.address(); server.close(() => resolve(port)); });
  });
}

export async function startRedis() {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  const admin = new Redis(url);
  admin.on('error', () => {});
  await admin.ping();
  const version = (await admin.info('server')).match(/redis_version:(\S+)/)[1];
  admin.disconnect();
  return { url, version, stop: async () => { child.kill('SIGTERM'); await new Promise((resolve) => child.once('exit', resolve)); } };
}

export function machine() {
  return { cpus: cpus().length, model: cpus()[0]?.model, node: process.version };
}

export function summarize(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}
