/**
 * Port of the gem's Rails request specs login_controller_spec.rb and login_with_cookies_controller_spec.rb:
 * POST /login, POST /login_with_cookies, DELETE /login, DELETE /login/destroy_by_refresh.
 */
import { describe, expect, it } from '@jest/globals';
import {
  ACCESS_COOKIE, ACCESS_EXP, ADAPTERS, REFRESH_COOKIE, REFRESH_EXP, SEEDED_USER, cookieHeader, decodePayload,
  expectBadRequest, expectCreatedOrOk, expectLoginTokens, expectRefreshTokens, expectUnauthorized, loginUser, nowSeconds,
  setCookies, type LoginTokens, useSampleApp,
} from './support/sample-app.js';

describe.each(ADAPTERS)('%s adapter', (adapter) => {
  describe('Rails example login', () => {
    const sample = useSampleApp({ SAMPLE_ADAPTER: adapter });

    const showUser = (access: string) => sample.http().get(`/users/${SEEDED_USER.id}`).set('Authorization', `Bearer ${access}`);
    const refresh = (refreshToken: string) => sample.http().post('/refresh').set('X-Refresh-Token', refreshToken);

    /** Asserts that neither token of a session works any more. */
    async function expectFlushed(tokens: Pick<LoginTokens, 'access' | 'refresh'>): Promise<void> {
      expectUnauthorized(await showUser(tokens.access));
      expectUnauthorized(await refresh(tokens.refresh));
    }

    describe('POST /login', () => {
      it('logs in with email and password, answering the gem\'s login keys', async () => {
        const response = await sample.http().post('/login').send({ email: SEEDED_USER.email, password: SEEDED_USER.password });
        expectCreatedOrOk(response);
        expectLoginTokens(response.body);
        expect(Date.parse(response.body.access_expires_at) / 1000).toBe(nowSeconds(sample) + ACCESS_EXP);
        expect(Date.parse(response.body.refresh_expires_at) / 1000).toBe(nowSeconds(sample) + REFRESH_EXP);
      });

      it('signs a payload { user_id } and the tokens authorize the user', async () => {
        const tokens = await loginUser(sample);
        expect(decodePayload(tokens.access)).toMatchObject({ user_id: SEEDED_USER.id });
        const response = await showUser(tokens.access);
        expect(response.status).toBe(200);
        expect(response.body.current_user).toEqual({ id: SEEDED_USER.id, email: SEEDED_USER.email });
      });

      it('starts a session in namespace user-<id> that allows refresh by access', async () => {
        const tokens = await loginUser(sample);
        const list = await sample.http().get('/sessions').set('Authorization', tokens.access);
        expect(list.status).toBe(200);
        const session = (list.body.sessions as Array<Record<string, unknown>>).find((s) => s.id === decodePayload(tokens.access).ruid);
        expect(session).toBeDefined();
        sample.clock.advance(ACCESS_EXP + 1);
        const refreshed = await sample.http().post('/refresh_by_access').set('Authorization', tokens.access);
        expectCreatedOrOk(refreshed);
        expect(Object.keys(refreshed.body)).toEqual(['csrf']);
      });

      it('refuses a form-encoded body with 415, so a cross-site form cannot log a victim in (login CSRF)', async () => {
        for (const route of ['/login', '/login_with_cookies']) {
          const response = await sample.http().post(route).type('form').send({ email: SEEDED_USER.email, password: SEEDED_USER.password });
          expect(response.status).toBe(415);
          expect(response.body.access).toBeUndefined();
          expect(response.headers['set-cookie']).toBeUndefined();
        }
      });

      it('answers 400, not 500, to bodies whose keys aim at prototypes', async () => {
        for (const body of [
          '{"email":"user@example.com","password":"password123","constructor":null}',
          '{"__proto__":null,"email":"user@example.com","password":"password123"}',
          '{"email":"user@example.com","password":"password123","__proto__":{"email":"x"}}',
        ]) {
          const response = await sample.http().post('/login').set('Content-Type', 'application/json').send(body);
          expect([200, 400]).toContain(response.status);
        }
        const prototypeOnly = await sample.http().post('/login').set('Content-Type', 'application/json')
          .send('{"__proto__":{"email":"user@example.com","password":"password123"}}');
        expect(prototypeOnly.status).toBe(400);
      });

      it('refuses a wrong password with 401', async () => {
        const response = await sample.http().post('/login').send({ email: SEEDED_USER.email, password: 'wrong-password' });
        expectUnauthorized(response);
        expect(response.body.access).toBeUndefined();
      });

      it('refuses an unknown email with 401, like a wrong password', async () => {
        const response = await sample.http().post('/login').send({ email: 'nobody@example.com', password: SEEDED_USER.password });
        expectUnauthorized(response);
      });

      it('answers 400 to a body that is not JSON', async () => {
        const response = await sample.http().post('/login').set('Content-Type', 'application/json').send('{"email": "user@example.com",');
        expectBadRequest(response);
      });

      it.each([
        ['an empty body', {}],
        ['a missing password', { email: SEEDED_USER.email }],
        ['a missing email', { password: SEEDED_USER.password }],
        ['an invalid email', { email: 'not-an-email', password: SEEDED_USER.password }],
        ['a non-string password', { email: SEEDED_USER.email, password: 12345678 }],
        ['a non-string email', { email: ['user@example.com'], password: SEEDED_USER.password }],
      ])('answers 400 to %s', async (_label, body) => {
        expectBadRequest(await sample.http().post('/login').send(body));
      });

      it('answers 400 to a JSON array or scalar body', async () => {
        expectBadRequest(await sample.http().post('/login').send([SEEDED_USER.email, SEEDED_USER.password]));
        expectBadRequest(await sample.http().post('/login').set('Content-Type', 'application/json').send('"user@example.com"'));
      });
    });

    describe('POST /login_with_cookies', () => {
      it('answers { csrf } and sets the jwt_access and jwt_refresh cookies', async () => {
        const response = await sample.http().post('/login_with_cookies').send({ email: SEEDED_USER.email, password: SEEDED_USER.password });
        expectCreatedOrOk(response);
        expect(Object.keys(response.body)).toEqual(['csrf']);
        expect(typeof response.body.csrf).toBe('string');
        const cookies = setCookies(response);
        expect(Object.keys(cookies).sort()).toEqual([ACCESS_COOKIE, REFRESH_COOKIE]);
        expect(decodePayload(cookies[ACCESS_COOKIE].value)).toMatchObject({ user_id: SEEDED_USER.id });
        expect(decodePayload(cookies[REFRESH_COOKIE].value)).toMatchObject({ user_id: SEEDED_USER.id });
      });

      it('sets HttpOnly, SameSite=Lax, Path=/ cookies without Secure outside production', async () => {
        const response = await sample.http().post('/login_with_cookies').send({ email: SEEDED_USER.email, password: SEEDED_USER.password });
        for (const name of [ACCESS_COOKIE, REFRESH_COOKIE]) {
          const { attributes } = setCookies(response)[name];
          expect(attributes.has('httponly')).toBe(true);
          expect(attributes.get('samesite')?.toLowerCase()).toBe('lax');
          expect(attributes.get('path')).toBe('/');
          expect(attributes.has('secure')).toBe(false);
          expect(attributes.has('domain')).toBe(false);
        }
      });

      it('the cookies and the csrf authorize cookie requests', async () => {
        const login = await sample.http().post('/login_with_cookies').send({ email: SEEDED_USER.email, password: SEEDED_USER.password });
        const cookies = setCookies(login);
        const cookie = cookieHeader({ [ACCESS_COOKIE]: cookies[ACCESS_COOKIE].value, [REFRESH_COOKIE]: cookies[REFRESH_COOKIE].value });
        const show = await sample.http().get(`/users/${SEEDED_USER.id}`).set('Cookie', cookie);
        expect(show.status).toBe(200);
        expect(show.body.current_user).toEqual({ id: SEEDED_USER.id, email: SEEDED_USER.email });
        const refreshed = await sample.http().post('/refresh').set('Cookie', cookieHeader({ [REFRESH_COOKIE]: cookies[REFRESH_COOKIE].value })).set('X-CSRF-Token', login.body.csrf);
        expectCreatedOrOk(refreshed);
        expectRefreshTokens(refreshed.body);
      });

      it('refuses a wrong password with 401 and sets no cookie', async () => {
        const response = await sample.http().post('/login_with_cookies').send({ email: SEEDED_USER.email, password: 'wrong-password' });
        expectUnauthorized(response);
        expect(setCookies(response)).toEqual({});
      });

      it('answers 400 to a malformed body and sets no cookie', async () => {
        const badJson = await sample.http().post('/login_with_cookies').set('Content-Type', 'application/json').send('{oops');
        expectBadRequest(badJson);
        const invalid = await sample.http().post('/login_with_cookies').send({ email: 'nope', password: SEEDED_USER.password });
        expectBadRequest(invalid);
        expect(setCookies(invalid)).toEqual({});
        expectBadRequest(await sample.http().post('/login_with_cookies').send({ email: SEEDED_USER.email }));
      });
    });

    describe('POST /login_with_cookies in production', () => {
      const production = useSampleApp({ SAMPLE_ADAPTER: adapter, NODE_ENV: 'production' });

      it('sets Secure cookies when NODE_ENV=production', async () => {
        const response = await production.http().post('/login_with_cookies').send({ email: SEEDED_USER.email, password: SEEDED_USER.password });
        expectCreatedOrOk(response);
        const cookies = setCookies(response);
        expect(Object.keys(cookies).sort()).toEqual([ACCESS_COOKIE, REFRESH_COOKIE]);
        for (const name of [ACCESS_COOKIE, REFRESH_COOKIE]) {
          expect(cookies[name].attributes.has('secure')).toBe(true);
          expect(cookies[name].attributes.has('httponly')).toBe(true);
        }
      });
    });

    describe('DELETE /login', () => {
      it('logs out with a Bearer access header (and a needless CSRF), answering JSON "ok"', async () => {
        const tokens = await loginUser(sample);
        const response = await sample.http().delete('/login').set('Authorization', `Bearer ${tokens.access}`).set('X-CSRF-Token', tokens.csrf);
        expect(response.status).toBe(200);
        expect(response.headers['content-type']).toMatch(/^application\/json/);
        expect(response.body).toBe('ok');
        await expectFlushed(tokens);
      });

      it('logs out with an access header and no CSRF', async () => {
        const tokens = await loginUser(sample);
        const response = await sample.http().delete('/login').set('Authorization', tokens.access);
        expect(response.status).toBe(200);
        expect(response.body).toBe('ok');
        await expectFlushed(tokens);
      });

      it('logs out after a refresh by access (success after refresh)', async () => {
        const tokens = await loginUser(sample);
        sample.clock.advance(ACCESS_EXP + 1);
        const refreshed = await sample.http().post('/refresh_by_access').set('Authorization', `Bearer ${tokens.access}`);
        expectCreatedOrOk(refreshed);
        const access = setCookies(refreshed)[ACCESS_COOKIE].value;
        const response = await sample.http().delete('/login').set('Authorization', `Bearer ${access}`).set('X-CSRF-Token', refreshed.body.csrf);
        expect(response.status).toBe(200);
        expect(response.body).toBe('ok');
        await expectFlushed({ access, refresh: tokens.refresh });
      });

      it('logs out with an access cookie and the CSRF token', async () => {
        const tokens = await loginUser(sample);
        const response = await sample.http().delete('/login').set('Cookie', cookieHeader({ [ACCESS_COOKIE]: tokens.access })).set('X-CSRF-Token', tokens.csrf);
        expect(response.status).toBe(200);
        expect(response.body).toBe('ok');
        await expectFlushed(tokens);
      });

      it('flushes only the caller\'s session', async () => {
        const mine = await loginUser(sample);
        const other = await loginUser(sample);
        expect((await sample.http().delete('/login').set('Authorization', mine.access)).body).toBe('ok');
        await expectFlushed(mine);
        expect((await showUser(other.access)).status).toBe(200);
      });

      it('refuses a second logout with the same token', async () => {
        const tokens = await loginUser(sample);
        expect((await sample.http().delete('/login').set('Authorization', tokens.access)).status).toBe(200);
        expectUnauthorized(await sample.http().delete('/login').set('Authorization', tokens.access));
      });

      it('refuses a request without a token', async () => {
        expectUnauthorized(await sample.http().delete('/login'));
      });

      it('refuses a refresh token in place of the access token', async () => {
        const tokens = await loginUser(sample);
        expectUnauthorized(await sample.http().delete('/login').set('Authorization', tokens.refresh));
        expect((await showUser(tokens.access)).status).toBe(200);
      });

      it('refuses an expired access token', async () => {
        const tokens = await loginUser(sample);
        sample.clock.advance(ACCESS_EXP + 1);
        expectUnauthorized(await sample.http().delete('/login').set('Authorization', tokens.access));
        // The session is still there: it can be refreshed.
        expectCreatedOrOk(await refresh(tokens.refresh));
      });
    });

    describe('DELETE /login/destroy_by_refresh', () => {
      it('logs out with a refresh header (and a needless CSRF), answering JSON "ok"', async () => {
        const tokens = await loginUser(sample);
        const response = await sample.http().delete('/login/destroy_by_refresh').set('X-Refresh-Token', tokens.refresh).set('X-CSRF-Token', tokens.csrf);
        expect(response.status).toBe(200);
        expect(response.headers['content-type']).toMatch(/^application\/json/);
        expect(response.body).toBe('ok');
        await expectFlushed(tokens);
      });

      it('logs out after a refresh (success after refresh), ending the refreshed access token too', async () => {
        const tokens1 = await loginUser(sample);
        const refreshed = await refresh(tokens1.refresh);
        expectCreatedOrOk(refreshed);
        const tokens2 = refreshed.body as { access: string; csrf: string };
        const response = await sample.http().delete('/login/destroy_by_refresh').set('X-Refresh-Token', tokens1.refresh).set('X-CSRF-Token', tokens2.csrf);
        expect(response.status).toBe(200);
        expect(response.body).toBe('ok');
        await expectFlushed({ access: tokens2.access, refresh: tokens1.refresh });
      });

      it('logs out with a refresh cookie and the CSRF token', async () => {
        const tokens = await loginUser(sample);
        const response = await sample.http().delete('/login/destroy_by_refresh')
          .set('Cookie', cookieHeader({ [REFRESH_COOKIE]: tokens.refresh }))
          .set('X-CSRF-Token', tokens.csrf);
        expect(response.status).toBe(200);
        expect(response.body).toBe('ok');
        await expectFlushed(tokens);
      });

      it('works after the access token expired', async () => {
        const tokens = await loginUser(sample);
        sample.clock.advance(ACCESS_EXP + 1);
        const response = await sample.http().delete('/login/destroy_by_refresh').set('X-Refresh-Token', `Bearer ${tokens.refresh}`);
        expect(response.status).toBe(200);
        expectUnauthorized(await refresh(tokens.refresh));
        expectUnauthorized(await sample.http().post('/refresh_by_access').set('Authorization', tokens.access));
      });

      it('refuses a request without a token', async () => {
        expectUnauthorized(await sample.http().delete('/login/destroy_by_refresh'));
      });

      it('refuses an access token in place of the refresh token', async () => {
        const tokens = await loginUser(sample);
        expectUnauthorized(await sample.http().delete('/login/destroy_by_refresh').set('X-Refresh-Token', tokens.access));
        expect((await showUser(tokens.access)).status).toBe(200);
      });

      it('refuses a flushed refresh token', async () => {
        const tokens = await loginUser(sample);
        expect((await sample.http().delete('/login/destroy_by_refresh').set('X-Refresh-Token', tokens.refresh)).status).toBe(200);
        expectUnauthorized(await sample.http().delete('/login/destroy_by_refresh').set('X-Refresh-Token', tokens.refresh));
      });
    });
  });
});
