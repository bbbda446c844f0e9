/** Port of the gem's Rails request spec refresh_by_access_controller_spec.rb: POST /refresh_by_access. */
import { beforeEach, describe, expect, it } from '@jest/globals';
import {
  ACCESS_COOKIE, ACCESS_EXP, ADAPTERS, REFRESH_COOKIE, REFRESH_EXP, SEEDED_USER, cookieHeader, decodePayload,
  expectCreatedOrOk, expectUnauthorized, foreignCsrf, forgePayload, loginSinatra, loginUser, setCookies,
  type LoginTokens, type Response, useSampleApp,
} from './support/sample-app.js';

describe.each(ADAPTERS)('%s adapter', (adapter) => {
  describe('Rails example POST /refresh_by_access', () => {
    const sample = useSampleApp({ SAMPLE_ADAPTER: adapter });
    let tokens: LoginTokens;

    beforeEach(async () => {
      tokens = await loginUser(sample);
    });

    const refreshByAccess = () => sample.http().post('/refresh_by_access');
    const showUser = (access: string) => sample.http().get(`/users/${SEEDED_USER.id}`).set('Authorization', `Bearer ${access}`);

    /**
     * Asserts a successful refresh by access: `{csrf}` only, a new jwt_access cookie (and no refresh cookie) that
     * authorizes the user in the same session, with the answered CSRF token good for cookie requests.
     */
    async function expectRefreshedByAccess(response: Response): Promise<string> {
      expectCreatedOrOk(response);
      expect(Object.keys(response.body)).toEqual(['csrf']);
      const cookies = setCookies(response);
      expect(Object.keys(cookies)).toEqual([ACCESS_COOKIE]);
      const access = cookies[ACCESS_COOKIE].value;
      expect(cookies[ACCESS_COOKIE].attributes.has('httponly')).toBe(true);
      expect(cookies[ACCESS_COOKIE].attributes.get('path')).toBe('/');
      expect(access).not.toBe(tokens.access);
      expect(decodePayload(access)).toMatchObject({ user_id: SEEDED_USER.id, ruid: decodePayload(tokens.access).ruid });
      const show = await showUser(access);
      expect(show.status).toBe(200);
      expect(show.body.current_user).toEqual({ id: SEEDED_USER.id, email: SEEDED_USER.email });
      // The new CSRF token goes with the new access cookie.
      const created = await sample.http().post('/users')
        .set('Cookie', cookieHeader({ [ACCESS_COOKIE]: access }))
        .set('X-CSRF-Token', response.body.csrf)
        .send({ user: { email: `rba-${Math.random().toString(36).slice(2)}@example.com`, password: 'password456' } });
      expectCreatedOrOk(created);
      return access;
    }

    describe('success (the access token has expired)', () => {
      beforeEach(() => {
        sample.clock.advance(ACCESS_EXP + 1);
      });

      it('refreshes with "Bearer <access>" in Authorization', async () => {
        await expectRefreshedByAccess(await refreshByAccess().set('Authorization', `Bearer ${tokens.access}`));
      });

      it('refreshes with a lower-cased header name', async () => {
        await expectRefreshedByAccess(await refreshByAccess().set('authorization', `Bearer ${tokens.access}`));
      });

      it('refreshes with a bare token', async () => {
        await expectRefreshedByAccess(await refreshByAccess().set('Authorization', tokens.access));
      });

      it('refreshes with the access cookie and the CSRF token', async () => {
        await expectRefreshedByAccess(await refreshByAccess()
          .set('Cookie', cookieHeader({ [ACCESS_COOKIE]: tokens.access }))
          .set('X-CSRF-Token', tokens.csrf));
      });

      it('keeps the refresh token of the session working', async () => {
        await expectRefreshedByAccess(await refreshByAccess().set('Authorization', tokens.access));
        const refreshed = await sample.http().post('/refresh').set('X-Refresh-Token', tokens.refresh);
        expectCreatedOrOk(refreshed);
      });

      it('the expired token is refused on normal routes all the same', async () => {
        expectUnauthorized(await showUser(tokens.access));
        expectUnauthorized(await sample.http().get('/sessions').set('Authorization', tokens.access));
      });
    });

    describe('failure', () => {
      describe('refresh before access is expired (the hijack callback)', () => {
        it('refuses "Bearer <access>" in Authorization', async () => {
          expectUnauthorized(await refreshByAccess().set('Authorization', `Bearer ${tokens.access}`));
        });

        it('refuses a lower-cased header name', async () => {
          expectUnauthorized(await refreshByAccess().set('authorization', `Bearer ${tokens.access}`));
        });

        it('refuses the access cookie with the CSRF token', async () => {
          const response = await refreshByAccess().set('Cookie', cookieHeader({ [ACCESS_COOKIE]: tokens.access })).set('X-CSRF-Token', tokens.csrf);
          expectUnauthorized(response);
          expect(setCookies(response)).toEqual({});
        });

        it('leaves the session as it was: the access token still works', async () => {
          expectUnauthorized(await refreshByAccess().set('Authorization', tokens.access));
          expect((await showUser(tokens.access)).status).toBe(200);
        });

        it('refuses one second before expiry, accepts once expired', async () => {
          sample.clock.advance(ACCESS_EXP - 1);
          expectUnauthorized(await refreshByAccess().set('Authorization', tokens.access));
          sample.clock.advance(2);
          await expectRefreshedByAccess(await refreshByAccess().set('Authorization', tokens.access));
        });
      });

      it('requires CSRF for cookie based auth', async () => {
        sample.clock.advance(ACCESS_EXP + 1);
        expectUnauthorized(await refreshByAccess().set('Cookie', cookieHeader({ [ACCESS_COOKIE]: tokens.access })));
      });

      it('refuses a cookie with a wrong CSRF token', async () => {
        sample.clock.advance(ACCESS_EXP + 1);
        expectUnauthorized(await refreshByAccess().set('Cookie', cookieHeader({ [ACCESS_COOKIE]: tokens.access })).set('X-CSRF-Token', foreignCsrf()));
      });

      it('tokens are absent', async () => {
        expectUnauthorized(await refreshByAccess());
      });

      it('refuses an access cookie 123', async () => {
        expectUnauthorized(await refreshByAccess().set('Cookie', cookieHeader({ [ACCESS_COOKIE]: 123 })));
      });

      it('refuses an access cookie "abc" with the CSRF token', async () => {
        expectUnauthorized(await refreshByAccess().set('Cookie', cookieHeader({ [ACCESS_COOKIE]: 'abc' })).set('X-CSRF-Token', tokens.csrf));
      });

      it('refuses a cookie named like the access header', async () => {
        expectUnauthorized(await refreshByAccess().set('Cookie', cookieHeader({ Authorization: '123abc' })));
      });

      it('refuses a CSRF token alone', async () => {
        expectUnauthorized(await refreshByAccess().set('X-CSRF-Token', tokens.csrf));
      });

      it('refuses a refresh token in place of the access token', async () => {
        sample.clock.advance(ACCESS_EXP + 1);
        expectUnauthorized(await refreshByAccess().set('Authorization', tokens.refresh));
        expectUnauthorized(await refreshByAccess().set('Cookie', cookieHeader({ [ACCESS_COOKIE]: tokens.refresh, [REFRESH_COOKIE]: tokens.refresh })).set('X-CSRF-Token', tokens.csrf));
      });

      it('refuses an expired access token whose payload was tampered with', async () => {
        sample.clock.advance(ACCESS_EXP + 1);
        expectUnauthorized(await refreshByAccess().set('Authorization', forgePayload(tokens.access, { user_id: 2 })));
      });

      it('refuses an old access token once the session was refreshed by access (replay)', async () => {
        sample.clock.advance(ACCESS_EXP + 1);
        await expectRefreshedByAccess(await refreshByAccess().set('Authorization', tokens.access));
        expectUnauthorized(await refreshByAccess().set('Authorization', tokens.access));
      });

      it('refuses an expired access token of a flushed session', async () => {
        expect((await sample.http().delete('/login/destroy_by_refresh').set('X-Refresh-Token', tokens.refresh)).status).toBe(200);
        sample.clock.advance(ACCESS_EXP + 1);
        expectUnauthorized(await refreshByAccess().set('Authorization', tokens.access));
      });

      it('refuses an access token past the session\'s refresh expiry', async () => {
        sample.clock.advance(REFRESH_EXP + 1);
        expectUnauthorized(await refreshByAccess().set('Authorization', tokens.access));
      });

      it('refuses a session that does not allow refresh by access', async () => {
        const namespaced = await loginSinatra(sample, '/api/v1/login_namespaced');
        sample.clock.advance(ACCESS_EXP + 1);
        expectUnauthorized(await refreshByAccess().set('Authorization', namespaced.access));
      });

      it('refuses a session of the Sinatra routes (no user_id)', async () => {
        const sinatra = await loginSinatra(sample);
        sample.clock.advance(ACCESS_EXP + 1);
        expectUnauthorized(await refreshByAccess().set('Authorization', sinatra.access));
      });
    });
  });
});
