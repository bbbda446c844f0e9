/** The sample's environment settings that a testing-module boot can exercise (see the contract's "Starting it"). */
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { jwtVerify } from 'jose';
import {
  ADAPTERS, E2E_SIGNING_KEY, SEEDED_USER, bootSampleApp, expectCreatedOrOk, expectLoginTokens, expectRefreshTokens,
  expectUnauthorized, loginUser, nowSeconds, type SampleApp,
} from './support/sample-app.js';

describe.each(ADAPTERS)('%s adapter', (adapter) => {
  describe('sample configuration', () => {
    let sample: SampleApp | undefined;

    afterEach(async () => {
      await sample?.close();
      sample = undefined;
      jest.restoreAllMocks();
    });

    it('JWT_SIGNING_KEY is the HS256 key the tokens are signed with', async () => {
      sample = await bootSampleApp({ SAMPLE_ADAPTER: adapter });
      const tokens = await loginUser(sample);
      const key = new TextEncoder().encode(E2E_SIGNING_KEY);
      const currentDate = new Date(sample.clock.now());
      const { payload, protectedHeader } = await jwtVerify(tokens.access, key, { algorithms: ['HS256'], currentDate });
      expect(protectedHeader.alg).toBe('HS256');
      expect(payload.user_id).toBe(SEEDED_USER.id);
      await expect(jwtVerify(tokens.refresh, key, { algorithms: ['HS256'], currentDate })).resolves.toBeDefined();
    });

    it('without JWT_SIGNING_KEY a random key is used and a warning is logged', async () => {
      const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      sample = await bootSampleApp({ SAMPLE_ADAPTER: adapter, JWT_SIGNING_KEY: undefined });
      expect(warn).toHaveBeenCalledWith(expect.stringContaining('JWT_SIGNING_KEY'));
      const tokens = await loginUser(sample);
      const show = await sample.http().get(`/users/${SEEDED_USER.id}`).set('Authorization', tokens.access);
      expect(show.status).toBe(200);
      await expect(jwtVerify(tokens.access, new TextEncoder().encode(E2E_SIGNING_KEY), { currentDate: new Date(sample.clock.now()) })).rejects.toThrow();
    });

    it('with JWT_SIGNING_KEY set no warning is logged', async () => {
      const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      sample = await bootSampleApp({ SAMPLE_ADAPTER: adapter });
      expect(warn).not.toHaveBeenCalled();
    });

    it('JWT_ACCESS_EXP and JWT_REFRESH_EXP set the lifetimes, enforced without leeway', async () => {
      sample = await bootSampleApp({ SAMPLE_ADAPTER: adapter, JWT_ACCESS_EXP: '60', JWT_REFRESH_EXP: '120' });
      const start = nowSeconds(sample);
      const tokens = await loginUser(sample);
      expect(Date.parse(tokens.access_expires_at) / 1000).toBe(start + 60);
      expect(Date.parse(tokens.refresh_expires_at) / 1000).toBe(start + 120);
      const show = (access: string) => sample!.http().get(`/users/${SEEDED_USER.id}`).set('Authorization', access);
      sample.clock.advance(59);
      expect((await show(tokens.access)).status).toBe(200);
      sample.clock.advance(2);
      expectUnauthorized(await show(tokens.access));
      const refreshed = await sample.http().post('/refresh').set('X-Refresh-Token', tokens.refresh);
      expectCreatedOrOk(refreshed);
      expectRefreshTokens(refreshed.body);
      // An access token never outlives its session: capped at the refresh token's expiry.
      expect(nowSeconds(sample) + 60).toBeGreaterThan(start + 120);
      expect(Date.parse(refreshed.body.access_expires_at) / 1000).toBe(start + 120);
      sample.clock.advance(60);
      expectUnauthorized(await sample.http().post('/refresh').set('X-Refresh-Token', tokens.refresh));
    });

    it('SAMPLE_USER_EMAIL and SAMPLE_USER_PASSWORD seed the user', async () => {
      sample = await bootSampleApp({ SAMPLE_ADAPTER: adapter, SAMPLE_USER_EMAIL: 'admin@example.org', SAMPLE_USER_PASSWORD: 'another-secret-9' });
      const tokens = await loginUser(sample, { email: 'admin@example.org', password: 'another-secret-9' });
      const show = await sample.http().get('/users/1').set('Authorization', tokens.access);
      expect(show.body.current_user).toEqual({ id: 1, email: 'admin@example.org' });
      expectUnauthorized(await sample.http().post('/login').send({ email: SEEDED_USER.email, password: SEEDED_USER.password }));
    });

    // The login body takes any password; the length rule is for new users only.
    it('a seeded user with a short SAMPLE_USER_PASSWORD can log in', async () => {
      sample = await bootSampleApp({ SAMPLE_ADAPTER: adapter, SAMPLE_USER_PASSWORD: 'secret' });
      const response = await sample.http().post('/login').send({ email: SEEDED_USER.email, password: 'secret' });
      expectCreatedOrOk(response);
      expectLoginTokens(response.body);
    });

    // Addresses without a TLD (admin@localhost) are valid logins.
    it('a seeded user with a SAMPLE_USER_EMAIL without a TLD can log in', async () => {
      sample = await bootSampleApp({ SAMPLE_ADAPTER: adapter, SAMPLE_USER_EMAIL: 'admin@localhost' });
      const response = await sample.http().post('/login').send({ email: 'admin@localhost', password: SEEDED_USER.password });
      expectCreatedOrOk(response);
      expectLoginTokens(response.body);
    });
  });
});
