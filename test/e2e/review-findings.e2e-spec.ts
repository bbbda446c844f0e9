/**
 * Regression tests for the security review's findings on the sample app (they run on memory and on Redis).
 * Form-encoded logins (415, login CSRF) are covered in login.e2e-spec.ts and not repeated here.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import {
  ACCESS_COOKIE, ACCESS_EXP, ADAPTERS, SEEDED_USER, cookieHeader, decodePayload, expectCreatedOrOk,
  expectRefreshTokens, expectUnauthorized, loginSinatra, loginUser, type LoginTokens, type RefreshTokens,
  type Response, useSampleApp,
} from './support/sample-app.js';

const SIX_DAYS = 6 * 24 * 3600;

describe.each(ADAPTERS)('%s adapter', (adapter) => {
  describe('review findings', () => {
    const sample = useSampleApp({ SAMPLE_ADAPTER: adapter });

    const post = (route: string) => sample.http().post(route);
    const payloadByHeader = (access: string) => sample.http().get('/api/v1/payload').set('Authorization', access);

    /** A Sinatra login followed by POST /api/v1/refresh: the session's original tokens and its latest access token. */
    async function loginAndRefresh(): Promise<{ tokens: LoginTokens; latest: RefreshTokens }> {
      const tokens = await loginSinatra(sample);
      const refreshed = await post('/api/v1/refresh').set('X-Refresh-Token', tokens.refresh);
      expectCreatedOrOk(refreshed);
      expectRefreshTokens(refreshed.body);
      expect(refreshed.body.access).not.toBe(tokens.access);
      return { tokens, latest: refreshed.body };
    }

    /** Every Sinatra refresh-by-access route, with an access token sent the way the route takes it. */
    function refreshByAccessAttempts(access: string, csrf: string): Array<[string, () => Promise<Response>]> {
      return [
        ['refresh_by_access_by_cookies (cookie + current CSRF)', () => post('/api/v1/refresh_by_access_by_cookies')
          .set('Cookie', cookieHeader({ [ACCESS_COOKIE]: access }))
          .set('X-CSRF-Token', csrf)],
        ['refresh_by_access_by_headers', () => post('/api/v1/refresh_by_access_by_headers').set('Authorization', access)],
        ['refresh_by_access (header)', () => post('/api/v1/refresh_by_access').set('Authorization', `Bearer ${access}`)],
        ['refresh_by_access (cookie + current CSRF)', () => post('/api/v1/refresh_by_access')
          .set('Cookie', cookieHeader({ [ACCESS_COOKIE]: access }))
          .set('X-CSRF-Token', csrf)],
      ];
    }

    async function expectAllRefused(access: string, csrf: string): Promise<void> {
      for (const [label, attempt] of refreshByAccessAttempts(access, csrf)) {
        const response = await attempt();
        expect({ label, status: response.status }).toEqual({ label, status: 401 });
        expectUnauthorized(response);
      }
    }

    describe('refresh by access with a superseded access token', () => {
      it('refuses the access token replaced by POST /api/v1/refresh, now and 6 days later, without logging the session out', async () => {
        const { tokens, latest } = await loginAndRefresh();

        // The old token is still within its lifetime, but no longer the session's latest.
        await expectAllRefused(tokens.access, latest.csrf);
        const live = await payloadByHeader(latest.access);
        expect(live.status).toBe(200);
        expect(live.body).toMatchObject({ key: 'reloaded access value', refresh_key: 'small refresh value' });

        // Both access tokens have expired; the session (7 days) lives on.
        sample.clock.advance(SIX_DAYS);
        await expectAllRefused(tokens.access, latest.csrf);

        // The legitimate holder is not logged out by the attempts: the latest token still refreshes by access,
        // with the CSRF token the attempts carried (so their 401s were not CSRF failures).
        const rescued = await post('/api/v1/refresh_by_access_by_cookies')
          .set('Cookie', cookieHeader({ [ACCESS_COOKIE]: latest.access }))
          .set('X-CSRF-Token', latest.csrf);
        expectCreatedOrOk(rescued);
        expectRefreshTokens(rescued.body);
        expect(decodePayload(rescued.body.access).ruid).toBe(decodePayload(tokens.access).ruid);
        const after = await payloadByHeader(rescued.body.access);
        expect(after.status).toBe(200);
        expect(after.body).toMatchObject({ key: 'such many auth methods much wow access value' });
        // ...and the superseded token stays refused.
        await expectAllRefused(tokens.access, rescued.body.csrf);
      });

      it('refuses the superseded token on refresh by access, and the refresh token keeps working', async () => {
        const { tokens, latest } = await loginAndRefresh();
        expectUnauthorized(await post('/api/v1/refresh_by_access').set('Authorization', tokens.access));
        const refreshed = await post('/api/v1/refresh').set('X-Refresh-Token', tokens.refresh);
        expectCreatedOrOk(refreshed);
        expectRefreshTokens(refreshed.body);
        expectUnauthorized(await payloadByHeader(latest.access));
        expect((await payloadByHeader(refreshed.body.access)).status).toBe(200);
      });
    });

    describe('refresh by access with the latest, expired access token', () => {
      it.each([
        ['refresh_by_access_by_cookies', 'such many auth methods much wow access value', 'cookie'],
        ['refresh_by_access_by_headers', 'yet another access value', 'header'],
        ['refresh_by_access', 'a big brave access value', 'header'],
        ['refresh_by_access', 'a big brave access value', 'cookie'],
      ] as const)('POST /api/v1/%s refreshes it (key %s, by %s)', async (route, key, transport) => {
        const { tokens, latest } = await loginAndRefresh();
        sample.clock.advance(ACCESS_EXP + 1);
        expectUnauthorized(await payloadByHeader(latest.access));
        const request = post(`/api/v1/${route}`);
        const response = transport === 'cookie'
          ? await request.set('Cookie', cookieHeader({ [ACCESS_COOKIE]: latest.access })).set('X-CSRF-Token', latest.csrf)
          : await request.set('Authorization', latest.access);
        expect(response.status).toBe(200);
        expectRefreshTokens(response.body);
        const payload = await payloadByHeader(response.body.access);
        expect(payload.status).toBe(200);
        expect(payload.body).toMatchObject({ key });
        expect(decodePayload(response.body.access).ruid).toBe(decodePayload(tokens.access).ruid);
      });

      it('POST /refresh_by_access (Rails) refreshes the latest expired token after POST /refresh, and refuses the older one', async () => {
        const tokens = await loginUser(sample);
        const refreshed = await post('/refresh').set('X-Refresh-Token', tokens.refresh);
        expectCreatedOrOk(refreshed);
        expectRefreshTokens(refreshed.body);
        sample.clock.advance(ACCESS_EXP + 1);
        expectUnauthorized(await post('/refresh_by_access').set('Authorization', tokens.access));
        const response = await post('/refresh_by_access').set('Authorization', refreshed.body.access);
        expect(response.status).toBe(200);
        expect(Object.keys(response.body)).toEqual(['csrf']);
      });
    });

    describe('POST /users', () => {
      let access: string;
      let emails = 0;
      const nextEmail = () => `review${++emails}-${Date.now()}@example.com`;

      beforeAll(async () => {
        access = (await loginUser(sample)).access;
      });

      const createRaw = (body: string) => post('/users').set('Authorization', access).set('Content-Type', 'application/json').send(body);

      it('answers 400 or 201, never 500, to a `user` with a `constructor` or `__proto__` key', async () => {
        const bodies = [
          () => `{"user":{"email":"${nextEmail()}","password":"password123","constructor":null}}`,
          () => `{"user":{"email":"${nextEmail()}","password":"password123","constructor":"x"}}`,
          () => `{"user":{"email":"${nextEmail()}","password":"password123","constructor":{"prototype":{"polluted":true}}}}`,
          () => `{"user":{"constructor":{"name":"NewUserDto"},"email":"${nextEmail()}","password":"password123"}}`,
          () => '{"user":{"constructor":null}}',
          () => '{"user":{"constructor":{}}}',
          () => `{"user":{"__proto__":null,"email":"${nextEmail()}","password":"password123"}}`,
          () => `{"user":{"__proto__":{"email":"${nextEmail()}","password":"password123"}}}`,
          () => `{"user":{"email":"${nextEmail()}","password":"password123","__proto__":{"constructor":null}}}`,
          () => `{"user":{"email":"${nextEmail()}","password":"password123","__proto__":{"polluted":true}}}`,
          () => '{"user":{"__proto__":[]}}',
          () => '{"user":{"__proto__":"x","constructor":1}}',
        ];
        const answers: Array<{ body: string; status: number }> = [];
        for (const body of bodies) {
          const sent = body();
          const response = await createRaw(sent);
          answers.push({ body: sent, status: response.status });
          expect(response.headers['content-type']).toMatch(/^application\/json/);
        }
        // Any answer but 400 or 201/200 (a 500 above all) is listed with the body that caused it.
        expect(answers.filter((answer) => ![200, 201, 400].includes(answer.status))).toEqual([]);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        // The app is unharmed: the caller still works and a normal sign-up still succeeds.
        const show = await sample.http().get(`/users/${SEEDED_USER.id}`).set('Authorization', access);
        expect(show.status).toBe(200);
        expectCreatedOrOk(await post('/users').set('Authorization', access).send({ user: { email: nextEmail(), password: 'password123' } }));
      });

      it('takes the fields only from `user` itself: an email behind `__proto__` is not read', async () => {
        const response = await createRaw(`{"user":{"__proto__":{"email":"${nextEmail()}","password":"password123"}}}`);
        expect(response.status).toBe(400);
      });

      it('lets exactly one of two concurrent sign-ups with the same email succeed', async () => {
        const email = nextEmail();
        const create = () => post('/users').set('Authorization', access).send({ user: { email, password: 'password123' } });
        const responses = await Promise.all([create(), create()]);
        const statuses = responses.map((response) => response.status).sort();
        expect(statuses).toHaveLength(2);
        expect(statuses.filter((status) => status === 200 || status === 201)).toHaveLength(1);
        expect(statuses.filter((status) => status === 400)).toHaveLength(1);
        // The address is taken once and for all, in any case.
        const again = await post('/users').set('Authorization', access).send({ user: { email: email.toUpperCase(), password: 'password123' } });
        expect(again.status).toBe(400);
      });

      it('lets exactly one of several concurrent sign-ups with the same email succeed', async () => {
        const email = nextEmail();
        const responses = await Promise.all(Array.from({ length: 5 }, (_, i) =>
          post('/users').set('Authorization', access).send({ user: { email: i % 2 === 0 ? email : email.toUpperCase(), password: `password12${i}` } })));
        const statuses = responses.map((response) => response.status);
        expect(statuses.filter((status) => status === 200 || status === 201)).toHaveLength(1);
        expect(statuses.filter((status) => status === 400)).toHaveLength(4);
      });
    });
  });
});
