/** Port of the gem's Rails request spec users_controller_spec.rb: GET /users/:id and POST /users. */
import { beforeEach, describe, expect, it } from '@jest/globals';
import {
  ACCESS_COOKIE, ACCESS_EXP, ADAPTERS, SEEDED_USER, cookieHeader, expectBadRequest, expectCreatedOrOk,
  expectUnauthorized, foreignCsrf, forgePayload, loginSinatra, loginUser, type LoginTokens, useSampleApp,
} from './support/sample-app.js';

const SEEDED = { id: SEEDED_USER.id, email: SEEDED_USER.email };

describe.each(ADAPTERS)('%s adapter', (adapter) => {
  describe('Rails example users', () => {
    const sample = useSampleApp({ SAMPLE_ADAPTER: adapter });
    let tokens: LoginTokens;
    let emails = 0;

    beforeEach(async () => {
      tokens = await loginUser(sample);
    });

    /** A fresh email for each new user. */
    const nextEmail = () => `new${++emails}@test.com`;
    const password = 'password123';

    describe('GET /users/:id', () => {
      describe('success', () => {
        it('answers current_user and user with an access header', async () => {
          const response = await sample.http().get(`/users/${SEEDED.id}`).set('Authorization', `Bearer ${tokens.access}`);
          expect(response.status).toBe(200);
          expect(response.body).toEqual({ current_user: SEEDED, user: SEEDED });
        });

        it('answers current_user and user with an access cookie (GET needs no CSRF)', async () => {
          const response = await sample.http().get(`/users/${SEEDED.id}`).set('Cookie', cookieHeader({ [ACCESS_COOKIE]: tokens.access }));
          expect(response.status).toBe(200);
          expect(response.body).toEqual({ current_user: SEEDED, user: SEEDED });
        });

        it('shows another user than the caller', async () => {
          const email = nextEmail();
          const created = await sample.http().post('/users').set('Authorization', tokens.access).send({ user: { email, password } });
          expectCreatedOrOk(created);
          const id = created.body.user.id as number;
          const response = await sample.http().get(`/users/${id}`).set('Authorization', tokens.access);
          expect(response.status).toBe(200);
          expect(response.body).toEqual({ current_user: SEEDED, user: { id, email } });
        });

        it('accepts a bare token and any case of the header name', async () => {
          for (const name of ['authorization', 'AUTHORIZATION', 'Authorization']) {
            const response = await sample.http().get(`/users/${SEEDED.id}`).set(name, tokens.access);
            expect(response.status).toBe(200);
            expect(response.body.current_user).toEqual(SEEDED);
          }
        });

        it('answers 404 for an unknown user', async () => {
          const response = await sample.http().get('/users/999999').set('Authorization', `Bearer ${tokens.access}`);
          expect(response.status).toBe(404);
          expect(response.headers['content-type']).toMatch(/^application\/json/);
        });

        it('answers 400 for an id that is not a number', async () => {
          const response = await sample.http().get('/users/abc').set('Authorization', `Bearer ${tokens.access}`);
          expectBadRequest(response);
        });
      });

      describe('failure', () => {
        it('no access token', async () => {
          expectUnauthorized(await sample.http().get(`/users/${SEEDED.id}`));
        });

        it('checks the token before the user: 401, not 404, without a token', async () => {
          expectUnauthorized(await sample.http().get('/users/999999'));
        });

        it('incorrect access cookie', async () => {
          expectUnauthorized(await sample.http().get(`/users/${SEEDED.id}`).set('Cookie', cookieHeader({ [ACCESS_COOKIE]: '123abc' })));
        });

        it('incorrect access header', async () => {
          expectUnauthorized(await sample.http().get(`/users/${SEEDED.id}`).set('Authorization', 'abc123'));
        });

        it('flushed tokens, by header', async () => {
          expect((await sample.http().delete('/login/destroy_by_refresh').set('X-Refresh-Token', tokens.refresh)).status).toBe(200);
          expectUnauthorized(await sample.http().get(`/users/${SEEDED.id}`).set('Authorization', `Bearer ${tokens.access}`));
        });

        it('flushed tokens, by cookie', async () => {
          expect((await sample.http().delete('/login/destroy_by_refresh').set('X-Refresh-Token', tokens.refresh)).status).toBe(200);
          expectUnauthorized(await sample.http().get(`/users/${SEEDED.id}`).set('Cookie', cookieHeader({ [ACCESS_COOKIE]: tokens.access })));
        });

        it('an expired access token', async () => {
          sample.clock.advance(ACCESS_EXP + 1);
          expectUnauthorized(await sample.http().get(`/users/${SEEDED.id}`).set('Authorization', tokens.access));
          expectUnauthorized(await sample.http().get(`/users/${SEEDED.id}`).set('Cookie', cookieHeader({ [ACCESS_COOKIE]: tokens.access })));
        });

        it('a refresh token in place of the access token', async () => {
          expectUnauthorized(await sample.http().get(`/users/${SEEDED.id}`).set('Authorization', tokens.refresh));
        });

        it('an access token whose user_id was tampered with', async () => {
          expectUnauthorized(await sample.http().get(`/users/${SEEDED.id}`).set('Authorization', forgePayload(tokens.access, { user_id: 2 })));
        });

        it('an access token of the Sinatra routes (no user_id)', async () => {
          const sinatra = await loginSinatra(sample);
          expectUnauthorized(await sample.http().get(`/users/${SEEDED.id}`).set('Authorization', sinatra.access));
        });
      });
    });

    describe('POST /users', () => {
      describe('success', () => {
        it('creates a user with an access header (and a needless CSRF)', async () => {
          const email = nextEmail();
          const response = await sample.http().post('/users')
            .set('Authorization', `Bearer ${tokens.access}`)
            .set('X-CSRF-Token', tokens.csrf)
            .send({ user: { email, password } });
          expectCreatedOrOk(response);
          expect(response.body.current_user).toEqual(SEEDED);
          expect(response.body.user).toEqual({ id: expect.any(Number), email });
          expect(response.body.user.id).not.toBe(SEEDED.id);
        });

        it('creates a user with an access cookie and the CSRF token', async () => {
          const email = nextEmail();
          const response = await sample.http().post('/users')
            .set('Cookie', cookieHeader({ [ACCESS_COOKIE]: tokens.access }))
            .set('X-CSRF-Token', tokens.csrf)
            .send({ user: { email, password } });
          expectCreatedOrOk(response);
          expect(response.body.current_user).toEqual(SEEDED);
          expect(response.body.user.email).toBe(email);
        });

        it('the new user can log in and is shown by id', async () => {
          const email = nextEmail();
          const created = await sample.http().post('/users').set('Authorization', tokens.access).send({ user: { email, password: 'another-password' } });
          expectCreatedOrOk(created);
          const id = created.body.user.id as number;
          const own = await loginUser(sample, { email, password: 'another-password' });
          const show = await sample.http().get(`/users/${id}`).set('Authorization', own.access);
          expect(show.status).toBe(200);
          expect(show.body).toEqual({ current_user: { id, email }, user: { id, email } });
          expectUnauthorized(await sample.http().post('/login').send({ email, password }));
        });
      });

      describe('failure', () => {
        it('no access token', async () => {
          const email = nextEmail();
          expectUnauthorized(await sample.http().post('/users').send({ user: { email, password } }));
          // No user was created: that email cannot log in.
          expectUnauthorized(await sample.http().post('/login').send({ email, password }));
        });

        it('CSRF is not required for cookie-less based auth', async () => {
          const response = await sample.http().post('/users').set('Authorization', `Bearer ${tokens.access}`).send({ user: { email: nextEmail(), password } });
          expectCreatedOrOk(response);
        });

        it('requires CSRF for cookie based auth, and creates nothing without it', async () => {
          const email = nextEmail();
          expectUnauthorized(await sample.http().post('/users').set('Cookie', cookieHeader({ [ACCESS_COOKIE]: tokens.access })).send({ user: { email, password } }));
          expectUnauthorized(await sample.http().post('/login').send({ email, password }));
        });

        it('refuses a cookie with a wrong CSRF token', async () => {
          const email = nextEmail();
          expectUnauthorized(await sample.http().post('/users')
            .set('Cookie', cookieHeader({ [ACCESS_COOKIE]: tokens.access }))
            .set('X-CSRF-Token', foreignCsrf())
            .send({ user: { email, password } }));
          expectUnauthorized(await sample.http().post('/login').send({ email, password }));
        });

        it('refuses an expired access token', async () => {
          sample.clock.advance(ACCESS_EXP + 1);
          expectUnauthorized(await sample.http().post('/users').set('Authorization', tokens.access).send({ user: { email: nextEmail(), password } }));
        });

        it('answers 400 without `user`', async () => {
          expectBadRequest(await sample.http().post('/users').set('Authorization', tokens.access).send({ email: nextEmail(), password }));
        });

        it('answers 400 to an empty body', async () => {
          expectBadRequest(await sample.http().post('/users').set('Authorization', tokens.access).send({}));
        });

        it('answers 400 to a body that is not JSON', async () => {
          expectBadRequest(await sample.http().post('/users').set('Authorization', tokens.access).set('Content-Type', 'application/json').send('{"user": {'));
        });

        it.each([
          ['an invalid email', () => ({ email: 'not-an-email', password })],
          ['a missing email', () => ({ password })],
          ['a missing password', () => ({ email: nextEmail() })],
          ['a non-string password', () => ({ email: nextEmail(), password: 123456789 })],
          ['a `user` that is a string', () => 'user@example.com'],
          ['a `user` that is an array', () => [nextEmail(), password]],
        ])('answers 400 to %s', async (_label, user) => {
          expectBadRequest(await sample.http().post('/users').set('Authorization', tokens.access).send({ user: user() }));
        });

        it('answers 400 to an email that is already taken', async () => {
          const response = await sample.http().post('/users').set('Authorization', tokens.access).send({ user: { email: SEEDED.email, password: 'password999' } });
          expectBadRequest(response);
          // The seeded user keeps their password.
          await loginUser(sample);
        });
      });
    });
  });
});
