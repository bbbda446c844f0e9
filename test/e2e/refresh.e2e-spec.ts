/** Port of the gem's Rails request spec refresh_controller_spec.rb: POST /refresh. */
import { beforeEach, describe, expect, it } from '@jest/globals';
import {
  ACCESS_COOKIE, ACCESS_EXP, ADAPTERS, REFRESH_COOKIE, REFRESH_EXP, SEEDED_USER, cookieHeader, decodePayload,
  expectCreatedOrOk, expectRefreshTokens, expectUnauthorized, foreignCsrf, forgePayload, loginSinatra, loginUser, nowSeconds,
  type LoginTokens, type Response, useSampleApp,
} from './support/sample-app.js';

describe.each(ADAPTERS)('%s adapter', (adapter) => {
  describe('Rails example POST /refresh', () => {
    const sample = useSampleApp({ SAMPLE_ADAPTER: adapter });
    let tokens: LoginTokens;

    beforeEach(async () => {
      tokens = await loginUser(sample);
    });

    const showUser = (access: string) => sample.http().get(`/users/${SEEDED_USER.id}`).set('Authorization', `Bearer ${access}`);

    /** Asserts a successful refresh whose new access token authorizes the seeded user. */
    async function expectRefreshed(response: Response): Promise<void> {
      expectCreatedOrOk(response);
      expectRefreshTokens(response.body);
      expect(decodePayload(response.body.access)).toMatchObject({ user_id: SEEDED_USER.id, ruid: decodePayload(tokens.access).ruid });
      const show = await showUser(response.body.access);
      expect(show.status).toBe(200);
      expect(show.body.current_user).toEqual({ id: SEEDED_USER.id, email: SEEDED_USER.email });
    }

    describe('success', () => {
      it('refreshes with "Bearer <refresh>" in X-Refresh-Token', async () => {
        await expectRefreshed(await sample.http().post('/refresh').set('X-Refresh-Token', `Bearer ${tokens.refresh}`));
      });

      it('refreshes with a lower-cased header name', async () => {
        await expectRefreshed(await sample.http().post('/refresh').set('x-refresh-token', `Bearer ${tokens.refresh}`));
      });

      it('refreshes with an upper-cased header name and a bare token', async () => {
        await expectRefreshed(await sample.http().post('/refresh').set('X-REFRESH-TOKEN', tokens.refresh));
      });

      it('refreshes with a lower-case "bearer" scheme', async () => {
        await expectRefreshed(await sample.http().post('/refresh').set('X-Refresh-Token', `bearer ${tokens.refresh}`));
      });

      it('refreshes with the refresh cookie and the CSRF token', async () => {
        await expectRefreshed(await sample.http().post('/refresh')
          .set('Cookie', cookieHeader({ [REFRESH_COOKIE]: tokens.refresh }))
          .set('X-CSRF-Token', tokens.csrf));
      });

      it('answers a new access token expiring after the default lifetime', async () => {
        sample.clock.advance(100);
        const response = await sample.http().post('/refresh').set('X-Refresh-Token', tokens.refresh);
        expectRefreshTokens(response.body);
        expect(Date.parse(response.body.access_expires_at) / 1000).toBe(nowSeconds(sample) + ACCESS_EXP);
      });

      it('ends the previous access token of the session', async () => {
        const response = await sample.http().post('/refresh').set('X-Refresh-Token', tokens.refresh);
        expectRefreshTokens(response.body);
        expectUnauthorized(await showUser(tokens.access));
      });

      it('refreshes after the access token expired', async () => {
        sample.clock.advance(ACCESS_EXP + 1);
        expectUnauthorized(await showUser(tokens.access));
        await expectRefreshed(await sample.http().post('/refresh').set('X-Refresh-Token', tokens.refresh));
      });

      it('can refresh the same session again', async () => {
        await expectRefreshed(await sample.http().post('/refresh').set('X-Refresh-Token', tokens.refresh));
        await expectRefreshed(await sample.http().post('/refresh').set('X-Refresh-Token', tokens.refresh));
      });
    });

    describe('failure', () => {
      it('requires CSRF for cookie based auth', async () => {
        expectUnauthorized(await sample.http().post('/refresh').set('Cookie', cookieHeader({ [REFRESH_COOKIE]: tokens.refresh })));
        // Nothing was refreshed: the login's access token still works.
        expect((await showUser(tokens.access)).status).toBe(200);
      });

      it('refuses a cookie with a wrong CSRF token', async () => {
        expectUnauthorized(await sample.http().post('/refresh')
          .set('Cookie', cookieHeader({ [REFRESH_COOKIE]: tokens.refresh }))
          .set('X-CSRF-Token', foreignCsrf()));
      });

      it('tokens are absent', async () => {
        expectUnauthorized(await sample.http().post('/refresh'));
      });

      it('refuses a refresh cookie 123', async () => {
        expectUnauthorized(await sample.http().post('/refresh').set('Cookie', cookieHeader({ [REFRESH_COOKIE]: 123 })));
      });

      it('refuses a refresh cookie "abc" with the CSRF token', async () => {
        expectUnauthorized(await sample.http().post('/refresh').set('Cookie', cookieHeader({ [REFRESH_COOKIE]: 'abc' })).set('X-CSRF-Token', tokens.csrf));
      });

      it('refuses a cookie named like the refresh header', async () => {
        expectUnauthorized(await sample.http().post('/refresh').set('Cookie', cookieHeader({ 'X-Refresh-Token': '123abc' })));
      });

      it('refuses a CSRF token alone', async () => {
        expectUnauthorized(await sample.http().post('/refresh').set('X-CSRF-Token', tokens.csrf));
      });

      it('refuses an access token in the refresh header or cookie', async () => {
        expectUnauthorized(await sample.http().post('/refresh').set('X-Refresh-Token', tokens.access));
        expectUnauthorized(await sample.http().post('/refresh')
          .set('Cookie', cookieHeader({ [REFRESH_COOKIE]: tokens.access, [ACCESS_COOKIE]: tokens.access }))
          .set('X-CSRF-Token', tokens.csrf));
      });

      it('refuses a refresh token whose payload was tampered with', async () => {
        expectUnauthorized(await sample.http().post('/refresh').set('X-Refresh-Token', forgePayload(tokens.refresh, { user_id: 2 })));
      });

      it('refuses a refresh token past its expiry', async () => {
        sample.clock.advance(REFRESH_EXP + 1);
        expectUnauthorized(await sample.http().post('/refresh').set('X-Refresh-Token', tokens.refresh));
      });

      it('refuses the refresh token of a flushed session', async () => {
        expect((await sample.http().delete('/login').set('Authorization', tokens.access)).status).toBe(200);
        expectUnauthorized(await sample.http().post('/refresh').set('X-Refresh-Token', tokens.refresh));
      });

      it('refuses a session of the Sinatra routes (no user_id)', async () => {
        const sinatra = await loginSinatra(sample);
        expectUnauthorized(await sample.http().post('/refresh').set('X-Refresh-Token', sinatra.refresh));
      });
    });
  });
});
