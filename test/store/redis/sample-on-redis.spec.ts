import { RedisServer } from '../../support/redis-server.js';
import {
  bootSampleApp, cookieHeader, expectRefreshTokens, expectUnauthorized, loginUser, SEEDED_USER, type SampleApp,
} from '../../e2e/support/sample-app.js';

/** Two sample apps sharing one real Redis, as two instances behind a load balancer would. */
describe('the sample app on a shared Redis', () => {
  let server: RedisServer;
  let first: SampleApp;
  let second: SampleApp;

  beforeAll(async () => {
    server = await RedisServer.start(['--appendonly', 'yes', '--appendfsync', 'always']);
    const env = { JWT_SESSIONS_STORE: 'redis', REDIS_URL: server.url };
    [first, second] = await Promise.all([bootSampleApp(env), bootSampleApp(env)]);
  }, 30_000);

  afterAll(async () => {
    await Promise.all([first?.close(), second?.close()]);
    await server.destroy();
  });

  it('refreshes and flushes through one instance a session created through the other', async () => {
    const tokens = await loginUser(first);
    expect((await second.http().get(`/users/${SEEDED_USER.id}`).set('Authorization', tokens.access)).status).toBe(200);

    const refreshed = await second.http().post('/refresh').set('X-Refresh-Token', tokens.refresh);
    expectRefreshTokens(refreshed.body);
    expectUnauthorized(await first.http().get(`/users/${SEEDED_USER.id}`).set('Authorization', tokens.access));
    expect((await first.http().get(`/users/${SEEDED_USER.id}`).set('Authorization', refreshed.body.access)).status).toBe(200);

    const flushed = await first.http().delete('/sessions').set('Authorization', refreshed.body.access);
    expect(flushed.body).toEqual({ flushed: 1 });
    expectUnauthorized(await second.http().get(`/users/${SEEDED_USER.id}`).set('Authorization', refreshed.body.access));
    expectUnauthorized(await second.http().post('/refresh').set('X-Refresh-Token', tokens.refresh));
  });

  it('answers 503 (not 401) while Redis is down, for headers and cookies alike, and recovers by itself', async () => {
    const tokens = await loginUser(first);
    await server.stop();

    const byHeader = await first.http().get(`/users/${SEEDED_USER.id}`).set('Authorization', tokens.access);
    expect(byHeader.status).toBe(503);
    expect(byHeader.body).toMatchObject({ statusCode: 503, code: 'ERR_JWT_SESSIONS_STORE_UNAVAILABLE' });
    const byCookie = await second.http().post('/refresh').set('Cookie', cookieHeader({ jwt_refresh: tokens.refresh })).set('X-CSRF-Token', tokens.csrf);
    expect(byCookie.status).toBe(503);
    expect((await first.http().post('/login').send({ email: SEEDED_USER.email, password: SEEDED_USER.password })).status).toBe(503);
    // A forged token never needed the store: still 401.
    expectUnauthorized(await first.http().get(`/users/${SEEDED_USER.id}`).set('Authorization', `${tokens.access}x`));

    await server.resume();
    let status = 0;
    for (let attempt = 0; attempt < 100 && status !== 200; attempt++) {
      status = (await second.http().get(`/users/${SEEDED_USER.id}`).set('Authorization', tokens.access)).status;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(status).toBe(200);
  }, 30_000);
});
