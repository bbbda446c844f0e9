import { jest } from '@jest/globals';
import { ExpiredError, UnauthorizedError } from '../../lib/index.js';
import { TokenCodec } from '../../lib/tokens/token-codec.js';
import { VerifiedTokenCache } from '../../lib/tokens/verified-token-cache.js';
import { setup } from '../support/setup.js';

/**
 * The verified-token cache skips jose's signature check for a token seen before, and nothing else: expiry, the
 * checks a route asks for, the token type and the session in the store are all still enforced.
 */
describe('verified-token cache', () => {
  let ctx: Awaited<ReturnType<typeof setup>>;
  let verifications: ReturnType<typeof jest.spyOn>;

  async function start(options: Parameters<typeof setup>[0] = {}) {
    ctx = await setup(options);
    verifications = jest.spyOn(globalThis.crypto.subtle, 'verify');
  }

  afterEach(async () => {
    verifications?.mockRestore();
    await ctx?.close();
  });

  it('verifies the signature of a token once, then answers from the cache while the session is checked every time', async () => {
    await start();
    const { access } = await ctx.sessions.login({ payload: { user_id: 1 } });
    const find = jest.spyOn(ctx.store, 'find');
    for (let i = 0; i < 5; i++) await ctx.sessions.authorizeAccess(access);
    expect(verifications).toHaveBeenCalledTimes(1);
    expect(find).toHaveBeenCalledTimes(5);
  });

  it('cannot bring back a flushed session', async () => {
    await start();
    const tokens = await ctx.sessions.login({});
    await ctx.sessions.authorizeAccess(tokens.access);
    await ctx.sessions.flushByToken(tokens.refresh);
    await expect(ctx.sessions.authorizeAccess(tokens.access)).rejects.toThrow('Access token not found');
  });

  it('never outlives the token: at its exp (plus the leeway) the full check runs again and refuses it', async () => {
    await start({ accessExpiresIn: 60, verify: { leeway: 5 } });
    const { access } = await ctx.sessions.login({});
    await ctx.sessions.authorizeAccess(access);
    ctx.clock.advance(64);
    await expect(ctx.sessions.authorizeAccess(access)).resolves.toBeDefined();
    ctx.clock.advance(1);
    await expect(ctx.sessions.authorizeAccess(access)).rejects.toBeInstanceOf(ExpiredError);
  });

  it('keys entries by the checks passed: a token cached for one route is checked afresh for stricter claims, and for the other type', async () => {
    await start();
    const { access } = await ctx.sessions.login({});
    await ctx.sessions.authorizeAccess(access);
    await expect(ctx.sessions.authorizeAccess(access, { issuer: 'someone' })).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(ctx.sessions.authorizeRefresh(access)).rejects.toBeInstanceOf(UnauthorizedError);
    expect(verifications).toHaveBeenCalledTimes(3);
  });

  it('does not cache a token whose expiry was waived (refresh by access)', async () => {
    await start();
    const { access } = await ctx.sessions.login({ refreshByAccessAllowed: true });
    const codec = ctx.moduleRef.get(TokenCodec);
    await codec.verify(access, 'access', { allowExpired: true });
    await codec.verify(access, 'access', { allowExpired: true });
    expect(verifications).toHaveBeenCalledTimes(2);
  });

  it('answers each caller its own payload object, with read-only nested values: nobody changes what the next one reads', async () => {
    await start();
    const { access } = await ctx.sessions.login({ payload: { roles: ['user'], user_id: 1 } });
    const first = await ctx.sessions.authorizeAccess(access);
    first.payload.user_id = 2;
    delete (first.payload as { exp?: number }).exp;
    expect(() => (first.payload.roles as string[]).push('admin')).toThrow(TypeError);
    const second = await ctx.sessions.authorizeAccess(access);
    expect(second.payload).toMatchObject({ roles: ['user'], user_id: 1, exp: expect.any(Number) });
    expect(second.payload).not.toBe(first.payload);
  });

  it('is off with verifiedTokenCacheSize 0', async () => {
    await start({ verifiedTokenCacheSize: 0 });
    const { access } = await ctx.sessions.login({});
    for (let i = 0; i < 3; i++) await ctx.sessions.authorizeAccess(access);
    expect(verifications).toHaveBeenCalledTimes(3);
  });

  it('keeps at most its capacity, dropping the oldest entry first, whether or not it was read since', () => {
    const cache = new VerifiedTokenCache(2);
    cache.set('a', 'checks', { exp: 100 }, 100);
    cache.set('b', 'checks', { exp: 100 }, 100);
    expect(cache.get('a', 'checks', 0)).toEqual({ exp: 100 });
    cache.set('c', 'checks', { exp: 100 }, 100);
    expect([cache.get('a', 'checks', 0), cache.get('b', 'checks', 0), cache.get('c', 'checks', 0)]).toEqual([undefined, { exp: 100 }, { exp: 100 }]);
    expect(cache.size).toBe(2);
    expect(cache.get('b', 'checks', 100)).toBeUndefined();
    expect(cache.size).toBe(1);
  });

  it('answers a token only for the checks it passed, each until its own end, and keeps a bounded number of them', () => {
    const cache = new VerifiedTokenCache(4);
    cache.set('a', 'plain', { exp: 100 }, 100);
    cache.set('a', 'with leeway', { exp: 100 }, 130);
    expect(cache.get('a', 'strict audience', 0)).toBeUndefined();
    expect(cache.get('a', 'plain', 100)).toBeUndefined();
    expect(cache.get('a', 'with leeway', 100)).toEqual({ exp: 100 });
    expect(cache.size).toBe(1);
    for (let i = 0; i < 20; i++) cache.set('a', `checks ${i}`, { exp: 100 }, 100);
    expect(cache.get('a', 'with leeway', 0)).toBeUndefined();
    expect(cache.get('a', 'checks 19', 0)).toEqual({ exp: 100 });
    expect(cache.size).toBe(1);
  });

  it('forgets each set of checks at its own end, whichever was first, and the token once none is left', () => {
    const cache = new VerifiedTokenCache(4);
    cache.set('a', 'first', { exp: 100 }, 110);
    cache.set('a', 'second', { exp: 100 }, 100);
    cache.set('a', 'third', { exp: 100 }, 120);
    cache.set('a', 'first', { exp: 100 }, 110);
    expect(cache.get('a', 'second', 100)).toBeUndefined();
    expect(cache.get('a', 'first', 109)).toEqual({ exp: 100 });
    expect(cache.get('a', 'first', 110)).toBeUndefined();
    expect(cache.get('a', 'first', 0)).toBeUndefined();
    expect(cache.get('a', 'second', 0)).toBeUndefined();
    expect(cache.get('a', 'third', 119)).toEqual({ exp: 100 });
    expect(cache.size).toBe(1);
    expect(cache.get('a', 'third', 120)).toBeUndefined();
    expect(cache.get('a', 'third', 0)).toBeUndefined();
    expect(cache.size).toBe(0);
  });
});
