import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { RedisTokenStore, type JwtSessionsModuleOptions } from '../../../lib/index.js';
import { ManualClock } from '../../support/manual-clock.js';
import { freePort, RedisCluster, RedisSentinel, RedisServer } from '../../support/redis-server.js';
import { setup } from '../../support/setup.js';

/** The module's store option reaches Redis by each way it offers, with real servers: Sentinel, Cluster, host/port/db. */
describe('Redis store connections', () => {
  let server: RedisServer;
  let sentinel: RedisSentinel;
  let cluster: RedisCluster;
  let tlsServer: RedisServer;
  let tlsPort: number;
  let certificate: string;
  const certDir = mkdtempSync(join(tmpdir(), 'jwt-sessions-tls-'));

  beforeAll(async () => {
    // A self-signed certificate for a TLS-only port (openssl, as any Debian machine has it).
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-keyout', join(certDir, 'key.pem'), '-out', join(certDir, 'cert.pem')], { stdio: 'ignore' });
    certificate = readFileSync(join(certDir, 'cert.pem'), 'utf8');
    tlsPort = await freePort();
    server = await RedisServer.start();
    [sentinel, cluster, tlsServer] = await Promise.all([
      RedisSentinel.start(server, 'sessions-master'),
      RedisCluster.start(),
      RedisServer.start(['--tls-port', String(tlsPort), '--tls-cert-file', join(certDir, 'cert.pem'),
        '--tls-key-file', join(certDir, 'key.pem'), '--tls-ca-cert-file', join(certDir, 'cert.pem'), '--tls-auth-clients', 'no']),
    ]);
  }, 60_000);

  afterAll(async () => {
    await sentinel?.destroy();
    await Promise.all([server?.destroy(), cluster?.destroy(), tlsServer?.destroy()]);
    rmSync(certDir, { recursive: true, force: true });
  });

  async function roundTrip(store: JwtSessionsModuleOptions['store']): Promise<{ client: RedisTokenStore['client'] }> {
    const { sessions, store: created, close } = await setup({ store }, new ManualClock(Date.now()));
    const tokens = await sessions.login({ namespace: 'user-7', refreshByAccessAllowed: true });
    const refreshed = await sessions.refresh(tokens.refresh);
    await expect(sessions.authorizeAccess(refreshed.access)).resolves.toBeDefined();
    expect(await sessions.listSessions('user-7')).toHaveLength(1);
    expect(await sessions.flushNamespaced('user-7')).toBe(1);
    const client = (created as RedisTokenStore).client;
    await close();
    return { client };
  }

  it('finds the master through Sentinel', async () => {
    const { client } = await roundTrip({ type: 'redis', sentinels: [{ host: '127.0.0.1', port: sentinel.port }], name: 'sessions-master' });
    expect(client.status).toBe('end');
  });

  it('works on a three-master cluster from its start-up nodes, and flushes all sessions across the masters', async () => {
    await roundTrip({ type: 'redis', cluster: cluster.startupNodes });
    const { sessions, close } = await setup({ store: { type: 'redis', cluster: cluster.startupNodes } }, new ManualClock(Date.now()));
    for (let i = 0; i < 30; i++) await sessions.login({ namespace: i % 2 ? `user-${i}` : undefined });
    expect(await sessions.flushAll()).toBe(30);
    expect(await sessions.flushAll()).toBe(0);
    await close();
  });

  it('speaks TLS, by the tls option or a rediss:// URL', async () => {
    await roundTrip({ type: 'redis', host: '127.0.0.1', port: tlsPort, tls: { ca: certificate, servername: 'localhost' } });
    await roundTrip({ type: 'redis', url: `rediss://127.0.0.1:${tlsPort}`, tls: { ca: certificate, servername: 'localhost' } });
  });

  it('uses host, port and db', async () => {
    await roundTrip({ type: 'redis', host: '127.0.0.1', port: server.port, db: 3 });
    const db3 = new Redis(server.url, { db: 3 });
    await setup({ store: { type: 'redis', host: '127.0.0.1', port: server.port, db: 3 } }, new ManualClock(Date.now()))
      .then(async ({ sessions, close }) => {
        await sessions.login({});
        expect(await db3.dbsize()).toBe(1);
        await close();
      });
    await db3.quit();
  });
});
