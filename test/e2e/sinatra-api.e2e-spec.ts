/**
 * Port of the gem's Sinatra request specs (test/support/dummy_sinatra_api/spec/app_spec.rb), extended to every
 * Part 1 route of the sample contract, by header and by cookie.
 */
import { describe, expect, it } from '@jest/globals';
import {
  ACCESS_COOKIE, ACCESS_EXP, ADAPTERS, REFRESH_COOKIE, REFRESH_EXP, cookieHeader, decodePayload, expectCreatedOrOk,
  expectLoginTokens, expectRefreshTokens, forgePayload, expectUnauthorized, loginSinatra, nowSeconds, useSampleApp,
} from './support/sample-app.js';

describe.each(ADAPTERS)('%s adapter', (adapter) => {
  describe('Sinatra example API (/api/v1)', () => {
    const sample = useSampleApp({ SAMPLE_ADAPTER: adapter });

    /** GET /api/v1/payload with an access token in the Authorization header. */
    const payloadByHeader = (access: string) => sample.http().get('/api/v1/payload').set('Authorization', `Bearer ${access}`);

    it('home page', async () => {
      const response = await sample.http().get('/');
      expect(response.status).toBe(200);
      expect(response.text.length).toBeGreaterThan(0);
    });

    describe('POST /api/v1/login', () => {
      it('allows to log in, answering the gem\'s login keys', async () => {
        const response = await sample.http().post('/api/v1/login');
        expectCreatedOrOk(response);
        expectLoginTokens(response.body);
        expect(response.headers['content-type']).toMatch(/^application\/json/);
      });

      it('answers ISO 8601 expiries at the default lifetimes', async () => {
        const now = nowSeconds(sample);
        const tokens = await loginSinatra(sample);
        expect(Date.parse(tokens.access_expires_at) / 1000).toBe(now + ACCESS_EXP);
        expect(Date.parse(tokens.refresh_expires_at) / 1000).toBe(now + REFRESH_EXP);
      });

      it('signs the access and refresh payloads of the route', async () => {
        const tokens = await loginSinatra(sample);
        expect(decodePayload(tokens.access)).toMatchObject({ key: 'big access value' });
        expect(decodePayload(tokens.refresh)).toMatchObject({ refresh_key: 'small refresh value' });
        expect(decodePayload(tokens.refresh).key).toBeUndefined();
      });

      it('starts a new session on every login', async () => {
        const first = await loginSinatra(sample);
        const second = await loginSinatra(sample);
        expect(decodePayload(first.access).ruid).not.toBe(decodePayload(second.access).ruid);
        expect((await payloadByHeader(first.access)).status).toBe(200);
        expect((await payloadByHeader(second.access)).status).toBe(200);
      });
    });

    describe('allows to refresh by cookies and headers (POST /api/v1/refresh)', () => {
      it('refreshes by headers', async () => {
        const tokens = await loginSinatra(sample);
        const response = await sample.http().post('/api/v1/refresh').set('X-Refresh-Token', tokens.refresh);
        expectCreatedOrOk(response);
        expectRefreshTokens(response.body);
      });

      it('refreshes by cookies (with CSRF)', async () => {
        const tokens = await loginSinatra(sample);
        const response = await sample.http().post('/api/v1/refresh')
          .set('Cookie', cookieHeader({ [REFRESH_COOKIE]: tokens.refresh }))
          .set('X-CSRF-Token', tokens.csrf);
        expectCreatedOrOk(response);
        expectRefreshTokens(response.body);
      });

      it('issues an access token with the refresh payload and key "reloaded access value"', async () => {
        const tokens = await loginSinatra(sample);
        const refreshed = await sample.http().post('/api/v1/refresh').set('X-Refresh-Token', tokens.refresh);
        const payload = await payloadByHeader(refreshed.body.access);
        expect(payload.status).toBe(200);
        expect(payload.body).toMatchObject({ key: 'reloaded access value', refresh_key: 'small refresh value' });
        expect(payload.body.ruid).toBe(decodePayload(tokens.access).ruid);
      });

      it('ends the previous access token of the session', async () => {
        const tokens = await loginSinatra(sample);
        await sample.http().post('/api/v1/refresh').set('X-Refresh-Token', tokens.refresh).expect((r) => expectRefreshTokens(r.body));
        expectUnauthorized(await payloadByHeader(tokens.access));
      });

      it('refuses a refresh cookie without CSRF', async () => {
        const tokens = await loginSinatra(sample);
        const response = await sample.http().post('/api/v1/refresh').set('Cookie', cookieHeader({ [REFRESH_COOKIE]: tokens.refresh }));
        expectUnauthorized(response);
        // The session was not refreshed: its access token still works.
        expect((await payloadByHeader(tokens.access)).status).toBe(200);
      });

      it('refuses an access token in place of the refresh token', async () => {
        const tokens = await loginSinatra(sample);
        expectUnauthorized(await sample.http().post('/api/v1/refresh').set('X-Refresh-Token', tokens.access));
      });

      it('refuses a request without tokens', async () => {
        expectUnauthorized(await sample.http().post('/api/v1/refresh'));
      });
    });

    describe('allows to refresh by cookies only (POST /api/v1/refresh_by_cookies)', () => {
      it('refreshes by cookies', async () => {
        const tokens = await loginSinatra(sample);
        const response = await sample.http().post('/api/v1/refresh_by_cookies')
          .set('Cookie', cookieHeader({ [REFRESH_COOKIE]: tokens.refresh }))
          .set('X-CSRF-Token', tokens.csrf);
        expectCreatedOrOk(response);
        expectRefreshTokens(response.body);
        expect((await payloadByHeader(response.body.access)).body).toMatchObject({ key: 'new access value', refresh_key: 'small refresh value' });
      });

      it('refuses to refresh by headers', async () => {
        const tokens = await loginSinatra(sample);
        const response = await sample.http().post('/api/v1/refresh_by_cookies').set('X-Refresh-Token', tokens.refresh);
        expectUnauthorized(response);
      });
    });

    describe('allows to refresh by headers only (POST /api/v1/refresh_by_headers)', () => {
      it('refuses to refresh by cookies', async () => {
        const tokens = await loginSinatra(sample);
        const response = await sample.http().post('/api/v1/refresh_by_headers')
          .set('Cookie', cookieHeader({ [REFRESH_COOKIE]: tokens.refresh }))
          .set('X-CSRF-Token', tokens.csrf);
        expectUnauthorized(response);
      });

      it('refreshes by headers', async () => {
        const tokens = await loginSinatra(sample);
        const response = await sample.http().post('/api/v1/refresh_by_headers').set('X-Refresh-Token', tokens.refresh);
        expectCreatedOrOk(response);
        expectRefreshTokens(response.body);
        expect((await payloadByHeader(response.body.access)).body).toMatchObject({ key: 'a little shy access value', refresh_key: 'small refresh value' });
      });
    });

    describe('allows to refresh with namespace (login_namespaced, refresh_namespaced)', () => {
      it('signs the namespaced login payloads', async () => {
        const tokens = await loginSinatra(sample, '/api/v1/login_namespaced');
        expect(decodePayload(tokens.access)).toMatchObject({ key: 'hellooo' });
        expect(decodePayload(tokens.refresh)).toMatchObject({ refresh_key: 'im a humble value' });
      });

      it('refreshes by headers', async () => {
        const tokens = await loginSinatra(sample, '/api/v1/login_namespaced');
        const response = await sample.http().post('/api/v1/refresh_namespaced').set('X-Refresh-Token', tokens.refresh);
        expectCreatedOrOk(response);
        expectRefreshTokens(response.body);
        expect((await payloadByHeader(response.body.access)).body).toMatchObject({ key: 'reloaded hellooo', refresh_key: 'im a humble value' });
      });

      it('refreshes by cookies', async () => {
        const tokens = await loginSinatra(sample, '/api/v1/login_namespaced');
        const response = await sample.http().post('/api/v1/refresh_namespaced')
          .set('Cookie', cookieHeader({ [REFRESH_COOKIE]: tokens.refresh }))
          .set('X-CSRF-Token', tokens.csrf);
        expectCreatedOrOk(response);
        expectRefreshTokens(response.body);
      });

      it('refuses a namespaced session on refresh by access (not allowed for it)', async () => {
        const tokens = await loginSinatra(sample, '/api/v1/login_namespaced');
        expectUnauthorized(await sample.http().post('/api/v1/refresh_by_access').set('Authorization', tokens.access));
        expectUnauthorized(await sample.http().post('/api/v1/refresh_by_access_namespaced').set('Authorization', tokens.access));
      });
    });

    describe('allows to refresh by access token by cookies and headers (POST /api/v1/refresh_by_access)', () => {
      it('refreshes by headers', async () => {
        const tokens = await loginSinatra(sample);
        const response = await sample.http().post('/api/v1/refresh_by_access').set('Authorization', tokens.access);
        expectCreatedOrOk(response);
        expectRefreshTokens(response.body);
        expect((await payloadByHeader(response.body.access)).body).toMatchObject({ key: 'a big brave access value' });
      });

      it('refreshes by cookies', async () => {
        const tokens = await loginSinatra(sample);
        const response = await sample.http().post('/api/v1/refresh_by_access')
          .set('Cookie', cookieHeader({ [ACCESS_COOKIE]: tokens.access }))
          .set('X-CSRF-Token', tokens.csrf);
        expectCreatedOrOk(response);
        expectRefreshTokens(response.body);
      });

      it('refuses an access cookie without CSRF', async () => {
        const tokens = await loginSinatra(sample);
        const response = await sample.http().post('/api/v1/refresh_by_access').set('Cookie', cookieHeader({ [ACCESS_COOKIE]: tokens.access }));
        expectUnauthorized(response);
      });

      it('refuses a refresh token in place of the access token', async () => {
        const tokens = await loginSinatra(sample);
        expectUnauthorized(await sample.http().post('/api/v1/refresh_by_access').set('Authorization', tokens.refresh));
      });

      it('ends the previous access token of the session', async () => {
        const tokens = await loginSinatra(sample);
        const response = await sample.http().post('/api/v1/refresh_by_access').set('Authorization', tokens.access);
        expectRefreshTokens(response.body);
        expectUnauthorized(await payloadByHeader(tokens.access));
        expect((await payloadByHeader(response.body.access)).status).toBe(200);
      });
    });

    describe('allows to refresh by access token by cookies only (POST /api/v1/refresh_by_access_by_cookies)', () => {
      it('refreshes by cookies', async () => {
        const tokens = await loginSinatra(sample);
        const response = await sample.http().post('/api/v1/refresh_by_access_by_cookies')
          .set('Cookie', cookieHeader({ [ACCESS_COOKIE]: tokens.access }))
          .set('X-CSRF-Token', tokens.csrf);
        expectCreatedOrOk(response);
        expectRefreshTokens(response.body);
        expect((await payloadByHeader(response.body.access)).body).toMatchObject({ key: 'such many auth methods much wow access value' });
      });

      it('refuses to refresh by headers', async () => {
        const tokens = await loginSinatra(sample);
        expectUnauthorized(await sample.http().post('/api/v1/refresh_by_access_by_cookies').set('Authorization', tokens.access));
      });
    });

    describe('allows to refresh by access token by headers only (POST /api/v1/refresh_by_access_by_headers)', () => {
      it('refuses to refresh by cookies', async () => {
        const tokens = await loginSinatra(sample);
        const response = await sample.http().post('/api/v1/refresh_by_access_by_headers')
          .set('Cookie', cookieHeader({ [ACCESS_COOKIE]: tokens.access }))
          .set('X-CSRF-Token', tokens.csrf);
        expectUnauthorized(response);
      });

      it('refreshes by headers', async () => {
        const tokens = await loginSinatra(sample);
        const response = await sample.http().post('/api/v1/refresh_by_access_by_headers').set('Authorization', tokens.access);
        expectCreatedOrOk(response);
        expectRefreshTokens(response.body);
        expect((await payloadByHeader(response.body.access)).body).toMatchObject({ key: 'yet another access value' });
      });
    });

    describe('allows to refresh by access token with namespace (POST /api/v1/refresh_by_access_namespaced)', () => {
      const LOGIN = '/api/v1/login_namespaced_with_refresh_by_access_allowed';

      it('signs the login payload "guten tag"', async () => {
        const tokens = await loginSinatra(sample, LOGIN);
        expect(decodePayload(tokens.access)).toMatchObject({ key: 'guten tag' });
      });

      it('refreshes by headers', async () => {
        const tokens = await loginSinatra(sample, LOGIN);
        const response = await sample.http().post('/api/v1/refresh_by_access_namespaced').set('Authorization', tokens.access);
        expectCreatedOrOk(response);
        expectRefreshTokens(response.body);
        expect((await payloadByHeader(response.body.access)).body).toMatchObject({ key: 'reloaded guten tag' });
      });

      it('refreshes by cookies', async () => {
        const tokens = await loginSinatra(sample, LOGIN);
        const response = await sample.http().post('/api/v1/refresh_by_access_namespaced')
          .set('Cookie', cookieHeader({ [ACCESS_COOKIE]: tokens.access }))
          .set('X-CSRF-Token', tokens.csrf);
        expectCreatedOrOk(response);
        expectRefreshTokens(response.body);
      });
    });

    describe('allows accessing by cookies or headers (GET /api/v1/payload_without_authorize)', () => {
      it('has access to the payload by header', async () => {
        const tokens = await loginSinatra(sample);
        const response = await sample.http().get('/api/v1/payload_without_authorize').set('Authorization', tokens.access);
        expect(response.status).toBe(200);
        expect(response.body.key).toBe('big access value');
      });

      it('has access to the payload by cookie', async () => {
        const tokens = await loginSinatra(sample);
        const response = await sample.http().get('/api/v1/payload_without_authorize')
          .set('Cookie', cookieHeader({ [ACCESS_COOKIE]: tokens.access }))
          .set('X-CSRF-Token', tokens.csrf);
        expect(response.status).toBe(200);
        expect(response.body.key).toBe('big access value');
      });

      it('has access to the payload by cookie without CSRF (GET)', async () => {
        const tokens = await loginSinatra(sample);
        const response = await sample.http().get('/api/v1/payload_without_authorize').set('Cookie', cookieHeader({ [ACCESS_COOKIE]: tokens.access }));
        expect(response.status).toBe(200);
        expect(response.body.key).toBe('big access value');
      });

      it('does not raise error when accessing payload: {} without a token', async () => {
        const response = await sample.http().get('/api/v1/payload_without_authorize');
        expect(response.status).toBe(200);
        expect(response.body).toEqual({});
      });

      it('reads the header before the cookie', async () => {
        const byHeader = await loginSinatra(sample);
        const byCookie = await loginSinatra(sample);
        const response = await sample.http().get('/api/v1/payload_without_authorize')
          .set('Authorization', `Bearer ${byHeader.access}`)
          .set('Cookie', cookieHeader({ [ACCESS_COOKIE]: byCookie.access }));
        expect(response.status).toBe(200);
        expect(response.body.ruid).toBe(decodePayload(byHeader.access).ruid);
      });

      it('refuses an expired access token', async () => {
        const tokens = await loginSinatra(sample);
        sample.clock.advance(ACCESS_EXP + 1);
        expectUnauthorized(await sample.http().get('/api/v1/payload_without_authorize').set('Authorization', tokens.access));
      });
    });

    describe('GET /api/v1/payload', () => {
      it('allows to access by header', async () => {
        const tokens = await loginSinatra(sample);
        const response = await payloadByHeader(tokens.access);
        expect(response.status).toBe(200);
        expect(response.body.key).toBe('big access value');
      });

      it('allows to access by cookie (GET needs no CSRF)', async () => {
        const tokens = await loginSinatra(sample);
        const response = await sample.http().get('/api/v1/payload').set('Cookie', cookieHeader({ [ACCESS_COOKIE]: tokens.access }));
        expect(response.status).toBe(200);
        expect(response.body.key).toBe('big access value');
      });

      it('allows to access with refreshed token', async () => {
        const tokens = await loginSinatra(sample);
        const refreshed = await sample.http().post('/api/v1/refresh').set('X-Refresh-Token', tokens.refresh);
        expectCreatedOrOk(refreshed);
        const response = await payloadByHeader(refreshed.body.access);
        expect(response.status).toBe(200);
        expect(response.body.key).toBe('reloaded access value');
      });

      it('refuses a request without a token', async () => {
        expectUnauthorized(await sample.http().get('/api/v1/payload'));
      });

      it('refuses a refresh token', async () => {
        const tokens = await loginSinatra(sample);
        expectUnauthorized(await payloadByHeader(tokens.refresh));
        expectUnauthorized(await sample.http().get('/api/v1/payload').set('Cookie', cookieHeader({ [ACCESS_COOKIE]: tokens.refresh })));
      });

      it('refuses a token whose payload was tampered with', async () => {
        const tokens = await loginSinatra(sample);
        expectUnauthorized(await payloadByHeader(forgePayload(tokens.access, { key: 'evil' })));
      });
    });

    describe('GET /api/v1/payload_by_cookies', () => {
      it('answers the payload of the access cookie', async () => {
        const tokens = await loginSinatra(sample);
        const response = await sample.http().get('/api/v1/payload_by_cookies').set('Cookie', cookieHeader({ [ACCESS_COOKIE]: tokens.access }));
        expect(response.status).toBe(200);
        expect(response.body).toMatchObject({ key: 'big access value', ruid: decodePayload(tokens.access).ruid });
      });

      it('refuses an access header', async () => {
        const tokens = await loginSinatra(sample);
        expectUnauthorized(await sample.http().get('/api/v1/payload_by_cookies').set('Authorization', `Bearer ${tokens.access}`));
      });
    });

    describe('GET /api/v1/payload_by_headers', () => {
      it('answers the payload of the access header', async () => {
        const tokens = await loginSinatra(sample);
        const response = await sample.http().get('/api/v1/payload_by_headers').set('Authorization', `Bearer ${tokens.access}`);
        expect(response.status).toBe(200);
        expect(response.body).toMatchObject({ key: 'big access value', ruid: decodePayload(tokens.access).ruid });
      });

      it('refuses an access cookie', async () => {
        const tokens = await loginSinatra(sample);
        expectUnauthorized(await sample.http().get('/api/v1/payload_by_headers').set('Cookie', cookieHeader({ [ACCESS_COOKIE]: tokens.access })));
      });
    });

    describe('expired access tokens', () => {
      it('are refused on the payload routes', async () => {
        const tokens = await loginSinatra(sample);
        sample.clock.advance(ACCESS_EXP + 1);
        const cookie = cookieHeader({ [ACCESS_COOKIE]: tokens.access });
        expectUnauthorized(await payloadByHeader(tokens.access));
        expectUnauthorized(await sample.http().get('/api/v1/payload').set('Cookie', cookie));
        expectUnauthorized(await sample.http().get('/api/v1/payload_by_cookies').set('Cookie', cookie));
        expectUnauthorized(await sample.http().get('/api/v1/payload_by_headers').set('Authorization', tokens.access));
      });

      it('are still accepted one second before expiry', async () => {
        const tokens = await loginSinatra(sample);
        sample.clock.advance(ACCESS_EXP - 1);
        expect((await payloadByHeader(tokens.access)).status).toBe(200);
      });

      it.each([
        ['/api/v1/refresh_by_access', 'header', '/api/v1/login', 'a big brave access value'],
        ['/api/v1/refresh_by_access', 'cookie', '/api/v1/login', 'a big brave access value'],
        ['/api/v1/refresh_by_access_by_cookies', 'cookie', '/api/v1/login', 'such many auth methods much wow access value'],
        ['/api/v1/refresh_by_access_by_headers', 'header', '/api/v1/login', 'yet another access value'],
        ['/api/v1/refresh_by_access_namespaced', 'header', '/api/v1/login_namespaced_with_refresh_by_access_allowed', 'reloaded guten tag'],
        ['/api/v1/refresh_by_access_namespaced', 'cookie', '/api/v1/login_namespaced_with_refresh_by_access_allowed', 'reloaded guten tag'],
      ])('are accepted by POST %s (%s)', async (route, transport, login, key) => {
        const tokens = await loginSinatra(sample, login);
        sample.clock.advance(ACCESS_EXP + 1);
        const call = sample.http().post(route);
        const response = transport === 'header'
          ? await call.set('Authorization', `Bearer ${tokens.access}`)
          : await call.set('Cookie', cookieHeader({ [ACCESS_COOKIE]: tokens.access })).set('X-CSRF-Token', tokens.csrf);
        expectCreatedOrOk(response);
        expectRefreshTokens(response.body);
        const payload = await payloadByHeader(response.body.access);
        expect(payload.status).toBe(200);
        expect(payload.body).toMatchObject({ key, ruid: decodePayload(tokens.access).ruid });
        expect(Date.parse(response.body.access_expires_at) / 1000).toBe(nowSeconds(sample) + ACCESS_EXP);
      });

      it('do not keep a session alive past its refresh expiry', async () => {
        const tokens = await loginSinatra(sample);
        sample.clock.advance(REFRESH_EXP + 1);
        expectUnauthorized(await sample.http().post('/api/v1/refresh_by_access').set('Authorization', tokens.access));
        expectUnauthorized(await sample.http().post('/api/v1/refresh').set('X-Refresh-Token', tokens.refresh));
      });
    });

    it('refresh tokens keep working after the access token expired', async () => {
      const tokens = await loginSinatra(sample);
      sample.clock.advance(ACCESS_EXP + 1);
      const response = await sample.http().post('/api/v1/refresh').set('X-Refresh-Token', `Bearer ${tokens.refresh}`);
      expectCreatedOrOk(response);
      expectRefreshTokens(response.body);
      expect((await payloadByHeader(response.body.access)).body.key).toBe('reloaded access value');
    });
  });
});
