import { Cluster, Redis } from 'ioredis';
import { RedisTokenStore } from '../../../lib/index.js';
import { RedisCluster, RedisServer } from '../../support/redis-server.js';
import { describeTokenStoreContract } from '../token-store.contract.js';

let server: RedisServer;
let cluster: RedisCluster;

beforeAll(async () => {
  [server, cluster] = await Promise.all([RedisServer.start(), RedisCluster.start()]);
}, 60_000);

afterAll(async () => {
  await Promise.all([server?.destroy(), cluster?.destroy()]);
});

describeTokenStoreContract('RedisTokenStore on one server', async () => {
  const client = new Redis(server.url);
  await client.flushall();
  return { store: new RedisTokenStore(client), cleanup: async () => void (await client.quit()) };
});

describeTokenStoreContract('RedisTokenStore on a three-master cluster', async () => {
  const client = new Cluster(cluster.startupNodes);
  await client.ping();
  await Promise.all(client.nodes('master').map((node) => node.flushall()));
  return { store: new RedisTokenStore(client), cleanup: async () => void (await client.quit()) };
});
