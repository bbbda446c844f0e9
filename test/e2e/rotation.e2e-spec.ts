/**
 * The sample with JWT_ROTATE_REFRESH=1: every refresh answers a new refresh token and retires the one presented; a
 * repeat within the grace window gets the same tokens; a retired token used later revokes the whole session.
 */
import { describe, expect, it } from '@jest/globals';
import {
  ACCESS_COOKIE, ACCESS_EXP, ADAPTERS, LOGIN_KEYS, REFRESH_COOKIE, cookieHeader, decodePayload, expectCreatedOrOk, expectIsoDate,
  expectUnauthorized, loginSinatra, loginUser, setCookies, type LoginTokens, type Response, useSampleApp,
} from './support/sample-app.js';

/** A rotating refresh answers the login keys: the refresh keys plus the new refresh token. */
function expectRotated(response: Response, previous: { refresh: string; refresh_expires_at: string }): LoginTokens {
  expectCreatedOrOk(response);
  expect(Object.keys(response.body).sort()).toEqual(LOGIN_KEYS);
  const tokens = response.body as LoginTokens;
  expect(tokens.refresh).not.toBe(previous.refresh);
  expectIsoDate(tokens.refresh_expires_at);
  // Rotation never extends the session.
  expect(tokens.refresh_expires_at).toBe(previous.refresh_expires_at);
  return tokens;
}

describe.each(ADAPTERS)('%s adapter', (adapter) => {
  describe('refresh-token rotation (JWT_ROTATE_REFRESH=1)', () => {
    const sample = useSampleApp({ SAMPLE_ADAPTER: adapter, JWT_ROTATE_REFRESH: '1', JWT_REFRESH_GRACE: '5' });
    const refreshByHeader = (refresh: string) => sample.http().post('/refresh').set('X-Refresh-Token', refresh);
    const userOf = (access: string) => sample.http().get('/users/1').set('Authorization', access);

    it('rotates on every refresh, keeps the payload, and retires the previous pair', async () => {
      const login = await loginUser(sample);
      const first = expectRotated(await refreshByHeader(login.refresh), login);
      expect(decodePayload(first.refresh)).toMatchObject({ user_id: 1, uid: decodePayload(login.refresh).uid });
      expect((await userOf(first.access)).status).toBe(200);
      expectUnauthorized(await userOf(login.access));
      sample.clock.advance(6);
      const second = expectRotated(await refreshByHeader(first.refresh), login);
      expect((await userOf(second.access)).status).toBe(200);
    });

    it('answers a repeat within the grace window with the same tokens (two tabs), not a new branch', async () => {
      const login = await loginUser(sample);
      const first = expectRotated(await refreshByHeader(login.refresh), login);
      sample.clock.advance(4);
      const repeat = await refreshByHeader(login.refresh);
      expect({ access: repeat.body.access, refresh: repeat.body.refresh }).toEqual({ access: first.access, refresh: first.refresh });
      // Both tabs hold a working session: the masked CSRF tokens differ but belong to it.
      expect(repeat.body.csrf).not.toBe(first.csrf);
      const created = await sample.http().post('/users').set('Cookie', cookieHeader({ [ACCESS_COOKIE]: first.access }))
        .set('X-CSRF-Token', repeat.body.csrf).send({ user: { email: `tab${Date.now()}@example.com`, password: 'password123' } });
      expectCreatedOrOk(created);
    });

    it('revokes the whole session when a retired refresh token comes back after the window: attacker and victim are refused', async () => {
      const login = await loginUser(sample);
      const victim = expectRotated(await refreshByHeader(login.refresh), login);
      sample.clock.advance(6);
      expectUnauthorized(await refreshByHeader(login.refresh));
      expectUnauthorized(await userOf(victim.access));
      expectUnauthorized(await refreshByHeader(victim.refresh));
      const sessions = await sample.http().get('/sessions').set('Authorization', (await loginUser(sample)).access);
      expect((sessions.body.sessions as Array<{ id: string }>).map((s) => s.id)).not.toContain(decodePayload(login.access).ruid);
    });

    it('takes a token two generations old as reuse even inside the window', async () => {
      const login = await loginUser(sample);
      const first = expectRotated(await refreshByHeader(login.refresh), login);
      const second = expectRotated(await refreshByHeader(first.refresh), login);
      expectUnauthorized(await refreshByHeader(login.refresh));
      expectUnauthorized(await refreshByHeader(second.refresh));
    });

    it('rotates the refresh cookie on a cookie refresh, and on the Rails refresh by access', async () => {
      const login = await sample.http().post('/login_with_cookies').send({ email: 'user@example.com', password: 'password123' });
      const cookies = setCookies(login);
      const refreshed = await sample.http().post('/api/v1/refresh')
        .set('Cookie', cookieHeader({ [REFRESH_COOKIE]: cookies[REFRESH_COOKIE].value })).set('X-CSRF-Token', login.body.csrf);
      expectCreatedOrOk(refreshed);
      expect(refreshed.body.refresh).toBeDefined();
      sample.clock.advance(ACCESS_EXP + 1);
      const byAccess = await sample.http().post('/refresh_by_access')
        .set('Cookie', cookieHeader({ [ACCESS_COOKIE]: refreshed.body.access })).set('X-CSRF-Token', refreshed.body.csrf);
      expect(byAccess.status).toBe(200);
      const rotated = setCookies(byAccess);
      expect(Object.keys(rotated).sort()).toEqual([ACCESS_COOKIE, REFRESH_COOKIE]);
      expect(rotated[REFRESH_COOKIE].value).not.toBe(refreshed.body.refresh);
      expect((await userOf(rotated[ACCESS_COOKIE].value)).status).toBe(200);
    });

    it('refreshes by access only with the latest access token; an older one revokes the session', async () => {
      const login = await loginSinatra(sample);
      sample.clock.advance(ACCESS_EXP + 1);
      const first = await sample.http().post('/api/v1/refresh_by_access').set('Authorization', login.access);
      expectCreatedOrOk(first);
      expect(first.body.refresh).toBeDefined();
      sample.clock.advance(ACCESS_EXP + 1);
      expectCreatedOrOk(await sample.http().post('/api/v1/refresh_by_access').set('Authorization', first.body.access));
      expectUnauthorized(await sample.http().post('/api/v1/refresh_by_access').set('Authorization', login.access));
      expectUnauthorized(await sample.http().post('/api/v1/refresh').set('X-Refresh-Token', first.body.refresh));
    });

    it('answers twenty concurrent refreshes of one token with one successor pair, and a later logout leaves nothing alive', async () => {
      const login = await loginUser(sample);
      const answers = await Promise.all(Array.from({ length: 20 }, () => refreshByHeader(login.refresh)));
      const pairs = new Set(answers.filter((answer) => answer.status === 200).map((answer) => `${answer.body.access} ${answer.body.refresh}`));
      expect(pairs.size).toBe(1);
      for (const answer of answers) expect([200, 401]).toContain(answer.status);
      const [access, refresh] = [...pairs][0].split(' ');
      expect((await userOf(access)).status).toBe(200);
      expect((await sample.http().delete('/login').set('Authorization', access)).status).toBe(200);
      expectUnauthorized(await userOf(access));
      expectUnauthorized(await refreshByHeader(refresh));
      expectUnauthorized(await refreshByHeader(login.refresh));
    });
  });

  describe('refresh-token rotation without a grace window (JWT_REFRESH_GRACE=0)', () => {
    const sample = useSampleApp({ SAMPLE_ADAPTER: adapter, JWT_ROTATE_REFRESH: '1', JWT_REFRESH_GRACE: '0' });

    it('takes any repeat of a refresh as reuse', async () => {
      const login = await loginUser(sample);
      const first = await sample.http().post('/refresh').set('X-Refresh-Token', login.refresh);
      expect(first.status).toBe(200);
      expectUnauthorized(await sample.http().post('/refresh').set('X-Refresh-Token', login.refresh));
      expectUnauthorized(await sample.http().post('/refresh').set('X-Refresh-Token', first.body.refresh));
    });
  });
});
