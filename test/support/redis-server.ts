import { afterAll, beforeAll, beforeEach } from '@jest/globals';
import { Redis } from 'ioredis';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A port that is free now, along with its cluster bus port (port + 10000). */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 30000);
    if ((await isFree(port)) && (await isFree(port + 10000))) return port;
  }
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args]);
  return stdout.trim();
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

/** A real redis-server on a free port, started and stopped by the test that owns it. */
export class RedisServer {
  private process?: ChildProcess;
  private readonly dir = mkdtempSync(join(tmpdir(), 'jwt-sessions-redis-'));

  private constructor(
    readonly port: number,
    private readonly extraArgs: string[],
  ) {}

  static async start(extraArgs: string[] = []): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), extraArgs);
    await server.resume();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts (again) on the same port. */
  async resume(): Promise<void> {
    this.process = spawn('redis-server', [
      '--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir,
      ...this.extraArgs,
    ], { stdio: 'ignore' });
    await waitFor(async () => (await cli(this.port, 'ping')) === 'PONG', `redis-server on ${this.port}`);
  }

  /** Kills the server (SIGKILL: a crash, not a clean shutdown). */
  async stop(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async cli(...args: string[]): Promise<string> {
    return cli(this.port, ...args);
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A server of the calling describe's own, started before its tests with an admin client, and emptied before each test:
 * `use` hands both over once the server is up.
 */
export function useRedisServer(extraArgs: string[], use: (server: RedisServer, admin: Redis) => void): void {
  let server: RedisServer;
  let admin: Redis;
  beforeAll(async () => {
    server = await RedisServer.start(extraArgs);
    admin = new Redis(server.url);
    use(server, admin);
  }, 30_000);
  afterAll(async () => {
    await admin.quit();
    await server.destroy();
  });
  beforeEach(async () => {
    await admin.flushall();
  });
}

/** A three-master Redis Cluster of real servers, joined with `redis-cli --cluster create`. */
export class RedisCluster {
  private constructor(readonly nodes: RedisServer[]) {}

  static async start(): Promise<RedisCluster> {
    const nodes: RedisServer[] = [];
    for (let i = 0; i < 3; i++) {
      nodes.push(await RedisServer.start(['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${i}.conf`, '--cluster-node-timeout', '2000']));
    }
    const addresses = nodes.map((node) => `127.0.0.1:${node.port}`);
    await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes']);
    for (const node of nodes) {
      await waitFor(async () => (await node.cli('cluster', 'info')).includes('cluster_state:ok'), `cluster on ${node.port}`);
    }
    return new RedisCluster(nodes);
  }

  get startupNodes(): Array<{ host: string; port: number }> {
    return this.nodes.map((node) => ({ host: '127.0.0.1', port: node.port }));
  }

  async destroy(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.destroy()));
  }
}

/** A real Redis Sentinel watching one master, for the store's `sentinels` option. */
export class RedisSentinel {
  private constructor(
    readonly port: number,
    private readonly process: ChildProcess,
    private readonly dir: string,
  ) {}

  static async start(master: RedisServer, name: string): Promise<RedisSentinel> {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'jwt-sessions-sentinel-'));
    const config = join(dir, 'sentinel.conf');
    // Sentinel rewrites its config file, so it gets a writable one of its own.
    writeFileSync(config, [
      `port ${port}`, 'bind 127.0.0.1', `dir ${dir}`,
      `sentinel monitor ${name} 127.0.0.1 ${master.port} 1`, `sentinel down-after-milliseconds ${name} 5000`,
    ].join('\n'));
    const child = spawn('redis-server', [config, '--sentinel'], { stdio: 'ignore' });
    await waitFor(async () => (await cli(port, 'sentinel', 'get-master-addr-by-name', name)).includes(String(master.port)), `sentinel on ${port}`);
    return new RedisSentinel(port, child, dir);
  }

  async destroy(): Promise<void> {
    if (this.process.exitCode === null) {
      const exited = new Promise((resolve) => this.process.once('exit', resolve));
      this.process.kill('SIGKILL');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
