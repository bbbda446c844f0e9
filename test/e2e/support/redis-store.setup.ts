import { RedisServer } from '../../support/redis-server.js';

/**
 * Runs the sample's e2e suites on the Redis store: each test file gets its own redis-server, and bootSampleApp
 * points the sample at it through E2E_REDIS_URL (emptying it at each boot).
 */
let server: RedisServer;

beforeAll(async () => {
  server = await RedisServer.start();
  process.env.E2E_REDIS_URL = server.url;
}, 30_000);

afterAll(async () => {
  delete process.env.E2E_REDIS_URL;
  await server.destroy();
});
