import { jest } from '@jest/globals';
import type { ExecutionContext } from '@nestjs/common';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import {
  AccessAuth, authContextOf, JwtSessionsGuard, RefreshAuth, UnauthorizedError, type AuthContext, type JwtSessionsModuleOptions, type SessionRequest,
} from '../../lib/index.js';
import { toSeconds } from '../../lib/clock/clock.js';
import { ManualClock } from '../support/manual-clock.js';
import { useRedisServer } from '../support/redis-server.js';
import { decodePayload, setup } from '../support/setup.js';

class AccountController {
  @AccessAuth()
  me(): void {}

  @AccessAuth({ transport: 'cookie' })
  update(): void {}

  @RefreshAuth()
  refresh(): void {}
}

function httpContext(handler: keyof AccountController, req: SessionRequest): ExecutionContext {
  return new ExecutionContextHost([req, {}, () => undefined], AccountController, AccountController.prototype[handler]);
}

const bearer = (token: string): SessionRequest => ({ method: 'GET', headers: { authorization: `Bearer ${token}` } });

/**
 * The guard answers `true` at once, without a promise, only for an access token it verified before whose store
 * answers at once (memory); it still looks the session up every time, and every refusal is a rejected promise.
 */
describe('what the guard answers', () => {
  let ctx: Awaited<ReturnType<typeof setup>>;
  let guard: JwtSessionsGuard;

  async function start(options: JwtSessionsModuleOptions = {}, clock?: ManualClock) {
    ctx = await setup(options, clock);
    guard = ctx.moduleRef.get(JwtSessionsGuard);
  }

  afterEach(async () => {
    await ctx?.close();
  });

  describe('on the memory store', () => {
    beforeEach(() => start());

    it('passes a token seen before at once, looking its session up each time, and leaves the auth context', async () => {
      const { access } = await ctx.sessions.login({ payload: { user_id: 3 } });
      const first = bearer(access);
      const firstAnswer = guard.canActivate(httpContext('me', first));
      expect(firstAnswer).toBeInstanceOf(Promise);
      await expect(firstAnswer).resolves.toBe(true);

      const findNow = jest.spyOn(ctx.store, 'findNow');
      const again = bearer(access);
      expect(guard.canActivate(httpContext('me', again))).toBe(true);
      expect(findNow).toHaveBeenCalledTimes(1);
      expect(authContextOf(again)).toMatchObject({ type: 'access', source: 'header', token: access, payload: { user_id: 3 } });
      expect(authContextOf(again)?.session).not.toHaveProperty('csrf');
    });

    it('refuses a known token of a flushed session with a rejected promise, never a throw', async () => {
      const tokens = await ctx.sessions.login({});
      await guard.canActivate(httpContext('me', bearer(tokens.access)));
      await ctx.sessions.flushByToken(tokens.refresh);
      const answer = guard.canActivate(httpContext('me', bearer(tokens.access)));
      await expect(answer).rejects.toThrow('Access token not found');
    });

    it('refuses a known token once its session expired, and a missing token, with rejected promises', async () => {
      const { access } = await ctx.sessions.login({});
      await guard.canActivate(httpContext('me', bearer(access)));
      ctx.clock.advance(24 * 3600 + 1);
      await expect(guard.canActivate(httpContext('me', bearer(access)))).rejects.toBeInstanceOf(UnauthorizedError);
      await expect(guard.canActivate(httpContext('me', { method: 'GET', headers: {} }))).rejects.toThrow('Token is not found');
    });

    it('checks CSRF on the answer-at-once path too: a known cookie token on a POST without the CSRF token is refused', async () => {
      const { access, csrf } = await ctx.sessions.login({});
      const cookie = `jwt_access=${access}`;
      await guard.canActivate(httpContext('update', { method: 'POST', headers: { cookie, 'x-csrf-token': csrf } }));
      await expect(guard.canActivate(httpContext('update', { method: 'POST', headers: { cookie } }))).rejects.toThrow('CSRF token is invalid');
      expect(guard.canActivate(httpContext('update', { method: 'POST', headers: { cookie, 'x-csrf-token': csrf } }))).toBe(true);
    });

    it('reads the stored record without copying it, yet nothing it hands out lets a caller change what is stored', async () => {
      const { access } = await ctx.sessions.login({ payload: { user_id: 4 } });
      const { uid, ruid } = decodePayload(access);
      const storedNow = () => ctx.store.find(String(ruid), toSeconds(ctx.clock.now()));
      const stored = await storedNow();
      await guard.canActivate(httpContext('me', bearer(access)));
      const req = bearer(access);
      expect(guard.canActivate(httpContext('me', req))).toBe(true);

      // The auth context's session is a view of its own: changing it (or the payload) changes nothing stored.
      const context = authContextOf(req) as AuthContext;
      Object.assign(context.session, { accessUid: 'changed', accessExpiresAt: 0, expiresAt: 0 });
      Object.assign(context.payload, { uid: 'changed', ruid: 'changed' });
      // So does changing what the public authorizeAccess answers, the same token's cached lookup included.
      const authorized = await ctx.sessions.authorizeAccess(access);
      Object.assign(authorized.session, { accessUid: 'changed', accessExpiresAt: 0, csrf: 'changed', expiresAt: 0 });
      Object.assign(authorized.payload, { uid: 'changed', ruid: 'changed' });

      const again = bearer(access);
      expect(guard.canActivate(httpContext('me', again))).toBe(true);
      expect(authContextOf(again)?.session).toMatchObject({ uid: ruid, accessUid: uid, expiresAt: stored?.expiresAt });
      expect(authContextOf(again)?.payload).toMatchObject({ uid, ruid, user_id: 4 });
      expect(await storedNow()).toEqual(stored);
    });

    it('keeps what a request saw: a refresh after the guard ran leaves that request\'s auth context as it was', async () => {
      const { access, refresh } = await ctx.sessions.login({});
      await guard.canActivate(httpContext('me', bearer(access)));
      const req = bearer(access);
      expect(guard.canActivate(httpContext('me', req))).toBe(true);
      const seen = { ...authContextOf(req)?.session };
      ctx.clock.advance(3601);
      await ctx.sessions.refresh(refresh);
      expect(authContextOf(req)?.session).toEqual(seen);
    });

    it('always answers a promise for a refresh token', async () => {
      const { refresh } = await ctx.sessions.login({});
      const req: SessionRequest = { method: 'POST', headers: { 'x-refresh-token': refresh } };
      for (let i = 0; i < 2; i++) {
        const answer = guard.canActivate(httpContext('refresh', req));
        expect(answer).toBeInstanceOf(Promise);
        await expect(answer).resolves.toBe(true);
      }
    });
  });

  describe('on Redis', () => {
    let url: string;
    useRedisServer([], (server) => {
      url = server.url;
    });

    it('answers a promise even for a token seen before, since the store lookup goes over the network', async () => {
      await start({ store: { type: 'redis', url } }, new ManualClock(Date.now()));
      const { access } = await ctx.sessions.login({});
      await guard.canActivate(httpContext('me', bearer(access)));
      const answer = guard.canActivate(httpContext('me', bearer(access)));
      expect(answer).toBeInstanceOf(Promise);
      await expect(answer).resolves.toBe(true);
      await ctx.sessions.flushAll();
      await expect(guard.canActivate(httpContext('me', bearer(access)))).rejects.toThrow('Access token not found');
    });
  });
});
