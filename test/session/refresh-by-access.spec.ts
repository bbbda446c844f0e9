/**
 * SessionService.refreshByAccess with access tokens that are no longer the session's latest: what
 * session.service.spec.ts does not already pin down (live superseded tokens, the refused code, a returning
 * callback's arguments, and superseded tokens after flushNamespacedAccessTokens).
 */
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { UnauthorizedError, type EarlyRefreshCallback, type SessionTokens } from '../../lib/index.js';
import { decodePayload, setup } from '../support/setup.js';

const UNAUTHORIZED = { code: 'ERR_JWT_SESSIONS_UNAUTHORIZED' };
const NAMESPACE = 'rba-namespace';

function refusingCallback() {
  return jest.fn<EarlyRefreshCallback>(() => {
    throw new UnauthorizedError('early refresh refused');
  });
}

let ctx: Awaited<ReturnType<typeof setup>>;

beforeEach(async () => {
  ctx = await setup();
});

afterEach(async () => {
  await ctx.close();
});

const sessionIdOf = (tokens: Pick<SessionTokens, 'access'>) => decodePayload(tokens.access).ruid as string;

describe('refreshByAccess with a token superseded by refresh()', () => {
  let tokens: SessionTokens;
  let latest: string;
  let latestExpiresAt: Date;

  beforeEach(async () => {
    tokens = await ctx.sessions.login({ payload: { user_id: 1 }, refreshByAccessAllowed: true, namespace: NAMESPACE });
    ctx.clock.advance(10);
    const refreshed = await ctx.sessions.refresh(tokens.refresh, { payload: { user_id: 1 } });
    latest = refreshed.access;
    latestExpiresAt = refreshed.access_expires_at;
  });

  it('refuses it with ERR_JWT_SESSIONS_UNAUTHORIZED when no callback is given, while it is still within its lifetime', async () => {
    await expect(ctx.sessions.refreshByAccess(tokens.access)).rejects.toMatchObject(UNAUTHORIZED);
    await expect(ctx.sessions.refreshByAccess(tokens.access)).rejects.toBeInstanceOf(UnauthorizedError);
    // The refusal changes nothing: the latest token still works.
    await expect(ctx.sessions.authorizeAccess(latest)).resolves.toBeDefined();
  });

  it('refuses it with ERR_JWT_SESSIONS_UNAUTHORIZED when no callback is given, once both tokens have expired', async () => {
    ctx.clock.advance(6 * 24 * 3600);
    await expect(ctx.sessions.refreshByAccess(tokens.access)).rejects.toMatchObject(UNAUTHORIZED);
    await expect(ctx.sessions.refreshByAccess(tokens.access, { payload: { user_id: 2 } })).rejects.toMatchObject(UNAUTHORIZED);
    // The latest, expired token still refreshes by access.
    const refreshed = await ctx.sessions.refreshByAccess(latest);
    expect(decodePayload(refreshed.access).ruid).toBe(sessionIdOf(tokens));
  });

  it('refuses it when the callback throws UnauthorizedError, and leaves the session as it was', async () => {
    const callback = refusingCallback();
    await expect(ctx.sessions.refreshByAccess(tokens.access, { onEarlyRefresh: callback })).rejects.toMatchObject(UNAUTHORIZED);
    expect(callback).toHaveBeenCalledWith(sessionIdOf(tokens), latestExpiresAt);
    await expect(ctx.sessions.authorizeAccess(latest)).resolves.toBeDefined();
    await expect(ctx.sessions.authorizeAccess(tokens.access)).rejects.toMatchObject(UNAUTHORIZED);
  });

  it('lets it through when the callback returns (the gem semantics), handing it the session id and a Date', async () => {
    const callback = jest.fn<EarlyRefreshCallback>();
    const refreshed = await ctx.sessions.refreshByAccess(tokens.access, { payload: { user_id: 1 }, onEarlyRefresh: callback });
    expect(callback).toHaveBeenCalled();
    for (const [sessionUid, expiresAt] of callback.mock.calls) {
      expect(sessionUid).toBe(sessionIdOf(tokens));
      expect(expiresAt).toBeInstanceOf(Date);
      expect(expiresAt).toEqual(latestExpiresAt);
    }
    expect(decodePayload(refreshed.access)).toMatchObject({ user_id: 1, ruid: sessionIdOf(tokens) });
    await expect(ctx.sessions.authorizeAccess(refreshed.access)).resolves.toBeDefined();
    await expect(ctx.sessions.authorizeAccess(latest)).rejects.toMatchObject(UNAUTHORIZED);
  });

  describe('after flushNamespacedAccessTokens', () => {
    beforeEach(async () => {
      expect(await ctx.sessions.flushNamespacedAccessTokens(NAMESPACE)).toBe(1);
    });

    it('refuses the latest token on authorizeAccess', async () => {
      await expect(ctx.sessions.authorizeAccess(latest)).rejects.toMatchObject(UNAUTHORIZED);
      await expect(ctx.sessions.authorizeAccess(tokens.access)).rejects.toMatchObject(UNAUTHORIZED);
    });

    it('refuses the older token without a callback', async () => {
      await expect(ctx.sessions.refreshByAccess(tokens.access)).rejects.toMatchObject(UNAUTHORIZED);
      ctx.clock.advance(3600);
      await expect(ctx.sessions.refreshByAccess(tokens.access)).rejects.toMatchObject(UNAUTHORIZED);
    });

    it('refuses the older token when the callback throws', async () => {
      const callback = refusingCallback();
      await expect(ctx.sessions.refreshByAccess(tokens.access, { onEarlyRefresh: callback })).rejects.toMatchObject(UNAUTHORIZED);
      expect(callback).toHaveBeenCalledTimes(1);
      expect(callback.mock.calls[0][0]).toBe(sessionIdOf(tokens));
    });

    it('refreshes the latest token by access without calling a refusing callback, and then refuses the older one', async () => {
      await expect(ctx.sessions.refreshByAccess(tokens.access)).rejects.toMatchObject(UNAUTHORIZED);
      const callback = refusingCallback();
      const refreshed = await ctx.sessions.refreshByAccess(latest, { payload: { user_id: 1 }, onEarlyRefresh: callback });
      expect(callback).not.toHaveBeenCalled();
      expect(decodePayload(refreshed.access)).toMatchObject({ user_id: 1, ruid: sessionIdOf(tokens) });
      await expect(ctx.sessions.authorizeAccess(refreshed.access)).resolves.toBeDefined();
      await expect(ctx.sessions.refreshByAccess(tokens.access)).rejects.toMatchObject(UNAUTHORIZED);
      await expect(ctx.sessions.refreshByAccess(latest)).rejects.toMatchObject(UNAUTHORIZED);
    });
  });
});
