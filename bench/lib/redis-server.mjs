// Starts a throwaway redis-server on a free loopback port (no persistence), and stops it.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

/** A TCP port free on 127.0.0.1 at the time of asking. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts redis-server and waits until it answers. Answers { url, port, admin (an ioredis client), version, stop() };
 * stop() disconnects the admin client and ends the server (also done if the process exits first).
 */
export async function startRedis(extraArgs = []) {
  const port = await freePort();
  const server = spawn('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extraArgs,
  ], { stdio: 'ignore' });
  const exited = new Promise((resolve) => server.once('exit', resolve));
  const kill = () => { if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL'); };
  process.once('exit', kill);
  const url = `redis://127.0.0.1:${port}`;
  const admin = new Redis(url, { maxRetriesPerRequest: null });
  admin.on('error', () => {}); // refused until redis-server listens; ioredis retries
  await admin.ping();
  const version = (await admin.info('server')).match(/redis_version:(\S+)/)[1];
  return {
    url,
    port,
    admin,
    version,
    async stop() {
      admin.disconnect();
      server.kill('SIGTERM');
      const timer = setTimeout(kill, 3000);
      await exited;
      clearTimeout(timer);
      process.removeListener('exit', kill);
    },
  };
}
