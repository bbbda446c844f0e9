/**
 * Attacker review of issue 5: refresh-token rotation (grace window, reuse detection), idle timeout, the per-namespace
 * cap, session metadata, revokeSession / revokeOtherSessions and SessionEvents, on the memory store and a real Redis,
 * at the service level and through the sample app.
 *
 * The findings below were fixed; their tests (comments "Review finding") now guard the fixes. Every other test is a
 * regression for an attack that held up.
 *
 * Findings: (1, medium) a live access token retired by a refresh-token rotation replays the successor pair through
 * refresh by access inside the grace window, skipping onEarlyRefresh (service level and the sample's
 * /refresh_by_access); (2, medium) Redis keeps the successor tokens in clear (jwt_g:*) and every rotating EVALSHA
 * carries them; (3, low) after flushNamespacedAccessTokens the access token a rotation retired seconds before still
 * refreshes by access; (4, low) a module without rotation on the same store honours retired refresh tokens again;
 * (5, low) a listener throwing or rejecting with a Symbol / null-prototype object / throwing message getter fails the
 * request (or leaves an unhandled rejection); (6, low, availability) the grace window never helps cookie-borne
 * refreshes: the second tab's CSRF token is checked against the rotated secret; (7, info) the 512-character cut of a
 * user agent can split a surrogate pair; (8, info) flushAll racing rotations leaves successors keys without their
 * session; (9, info) LIST / UNLINK_NAMESPACE_ACCESS drop members without fitting the index TTL.
 */
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import {
  MemoryTokenStore, RedisTokenStore, SessionEvents, UnauthorizedError, type EarlyRefreshCallback, type JwtSessionsModuleOptions,
  type RefreshedTokens, type SessionEvent, type SessionTokens,
} from '../../lib/index.js';
import { bothStores, STORE_KINDS, realTimeClock, type Ctx, type StoreKind } from '../session/both-stores.js';
import { setup } from '../support/setup.js';
import {
  ACCESS_COOKIE, ACCESS_EXP, REFRESH_COOKIE, cookieHeader, createUser, loginUser, setCookies, type SampleApp,
} from '../e2e/support/sample-app.js';
import {
  bootRotationSample, claimsOf, dumpKeys, forge, layoutViolations, signWithTestKey, successorValues,
} from './support/rotation-review-fixture.js';

const NS = 'user-42';
const ROTATE: JwtSessionsModuleOptions = { rotateRefreshTokens: true };
const REUSED = { message: expect.stringMatching(/reused/) };

const stores = bothStores();

const sessionIdOf = (tokens: Pick<RefreshedTokens, 'access'>) => claimsOf(tokens.access).ruid as string;

/** Whether any way of using the pair still works. */
async function stillHonoured(ctx: Ctx, pair: Partial<RefreshedTokens>): Promise<string[]> {
  const alive: string[] = [];
  if (pair.access !== undefined && (await ctx.sessions.sessionExists(pair.access))) alive.push('access');
  if (pair.refresh !== undefined && (await ctx.sessions.sessionExists(pair.refresh, 'refresh'))) alive.push('refresh');
  return alive;
}

function record(ctx: Ctx): SessionEvent[] {
  const events: SessionEvent[] = [];
  ctx.moduleRef.get(SessionEvents).on('*', (event) => void events.push(event));
  return events;
}

const settle = <T>(promise: Promise<T>) => promise.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }));

describe.each(STORE_KINDS)('rotation review on the %s store', (kind: StoreKind) => {
  let ctx: Ctx;
  let tokens: SessionTokens;

  async function start(options: JwtSessionsModuleOptions = {}, login: Parameters<Ctx['sessions']['login']>[0] = {}) {
    ctx = await stores.setup(kind, { ...ROTATE, ...options });
    tokens = await ctx.sessions.login({ payload: { user_id: 42 }, namespace: NS, refreshByAccessAllowed: true, ...login });
    return ctx;
  }

  describe('findings', () => {
    // Review finding (medium, fixed): cross-kind grace replay skips onEarlyRefresh. The victim refreshes with the refresh token while
    // the access token is live (a /refresh does not run onEarlyRefresh). Within the grace window, whoever holds that
    // access token (a stolen one: the sample's refresh_by_access takes any live one as a hijack) presents it to refresh
    // by access: assertHonoured lets it through as "in grace" (session-refresher.ts inGrace), refresh() skips the early
    // check because the token is not current (session-refresher.ts:38), and the store replays the successor PAIR,
    // refresh token included. Without rotation the same request is refused (not the latest access token); with
    // refreshGracePeriod 0 it is reuse (see the control below).
    it('a live access token retired by a refresh-token rotation does not get the successor pair past onEarlyRefresh', async () => {
      await start();
      const victim = await ctx.sessions.refresh(tokens.refresh);
      const hijack = jest.fn<EarlyRefreshCallback>(() => {
        throw new UnauthorizedError('Malicious activity detected');
      });
      const answer = await settle(ctx.sessions.refreshByAccess(tokens.access, { onEarlyRefresh: hijack }));
      // Today: answer.ok, answer.value.refresh === victim.refresh, hijack never called.
      expect(answer.ok ? { refresh: answer.value.refresh === victim.refresh ? 'the victim\'s new refresh token' : answer.value.refresh } : 'refused')
        .toBe('refused');
    });

    // Review finding (low, fixed): flushNamespacedAccessTokens does not reach the access token the last rotation retired. README:
    // "After flushNamespacedAccessTokens, refresh by access is refused under rotation". The latest access token is
    // refused ('refused' outcome), but the one retired by a rotation a few seconds before the flush still replays the
    // successors: assertHonoured checks the flushed access only for the current token (session-refresher.ts:73-78), and
    // neither replay branch looks at x == 0 (memory-token.store.ts:93, redis-scripts.ts:160-165), so the answer carries a
    // live refresh token. The access token here has expired, so no early-refresh question arises.
    it('after flushNamespacedAccessTokens, the access token retired within the grace window cannot refresh by access', async () => {
      await start({}, { accessExpiresIn: 1 });
      ctx.clock.advance(2);
      const victim = await ctx.sessions.refresh(tokens.refresh);
      expect(await ctx.sessions.flushNamespacedAccessTokens(NS)).toBe(1);
      await expect(ctx.sessions.refreshByAccess(victim.access)).rejects.toBeInstanceOf(UnauthorizedError);
      const answer = await settle(ctx.sessions.refreshByAccess(tokens.access));
      // Today: answer.ok with victim.refresh (live) and victim.access (flushed).
      expect(answer.ok ? { refresh: answer.value.refresh === victim.refresh ? 'the live successor refresh token' : answer.value.refresh } : 'refused')
        .toBe('refused');
    });

    // Review finding (low, fixed): switching rotation off (a rollback, or a rolling deploy with mixed settings) revives every
    // refresh token rotation retired: without rotation, assertHonoured returns at once and the rid is never compared
    // (session-refresher.ts assertHonoured, session.service.ts refresh), so a stolen retired token refreshes again.
    it('a refresh token retired by rotation stays retired when a module without rotation shares the store', async () => {
      const shared = kind === 'memory' ? new MemoryTokenStore() : undefined;
      const storeOption = shared ? { store: shared } : stores.storeOptions(kind);
      const clock = realTimeClock();
      const rotating = await stores.setup(kind, { ...ROTATE, ...storeOption }, clock);
      const plain = await stores.setup(kind, storeOption, clock);
      const login = await rotating.sessions.login({ payload: { user_id: 42 }, namespace: NS });
      const next = await rotating.sessions.refresh(login.refresh);
      clock.advance(6);
      // Today: resolves with a fresh access token of the victim's session.
      await expect(plain.sessions.refresh(login.refresh)).rejects.toBeInstanceOf(UnauthorizedError);
      expect(next.refresh).toBeDefined();
    });

    // Review finding (info, fixed): clientDetail checks for lone surrogates, then cuts at 512 UTF-16 units (session-claims.ts:45-46):
    // a user agent whose 512th unit is the first half of a pair is stored ill-formed; Redis (UTF-8) turns the half into
    // U+FFFD while the memory store keeps it, so the two stores list different strings.
    it('a user agent cut at 512 characters is cut at a code point, never inside a surrogate pair', async () => {
      await start({}, { userAgent: `${'a'.repeat(511)}\u{1F600}tail` });
      const [listed] = await ctx.sessions.listSessions(NS);
      expect(listed.user_agent).toBe('a'.repeat(511));
    });
  });

  describe('grace replay and reuse (held up)', () => {
    it('control for the first finding: with refreshGracePeriod 0 the retired live access token is reuse and revokes', async () => {
      await start({ refreshGracePeriod: 0 });
      const victim = await ctx.sessions.refresh(tokens.refresh);
      await expect(ctx.sessions.refreshByAccess(tokens.access, { onEarlyRefresh: () => undefined })).rejects.toMatchObject(REUSED);
      expect(await stillHonoured(ctx, victim)).toEqual([]);
    });

    it('never replays to a refresh token two generations old, even of another kind, and revokes', async () => {
      await start({ refreshGracePeriod: 60 });
      const first = await ctx.sessions.refresh(tokens.refresh);
      const second = await ctx.sessions.refreshByAccess(first.access);
      await expect(ctx.sessions.refresh(tokens.refresh)).rejects.toMatchObject(REUSED);
      expect(await stillHonoured(ctx, second)).toEqual([]);
      expect(await stillHonoured(ctx, first)).toEqual([]);
    });

    it('never replays to an access token two generations old, and revokes', async () => {
      await start({ refreshGracePeriod: 60 }, { accessExpiresIn: 1 });
      ctx.clock.advance(2);
      const first = await ctx.sessions.refresh(tokens.refresh);
      const second = await ctx.sessions.refresh(first.refresh as string);
      await expect(ctx.sessions.refreshByAccess(tokens.access)).rejects.toMatchObject(REUSED);
      expect(await stillHonoured(ctx, second)).toEqual([]);
    });

    it('gives a retired token nothing once its session logged out, was flushed, evicted or revoked inside the window', async () => {
      const ends: Array<(c: Ctx, t: SessionTokens) => Promise<unknown>> = [
        (c, t) => c.sessions.flushByToken(t.refresh),
        (c) => c.sessions.flushNamespaced(NS),
        (c, t) => c.sessions.revokeSession(NS, sessionIdOf(t)),
        (c, t) => c.sessions.flushByUid(sessionIdOf(t)),
        (c) => c.sessions.flushAll(),
      ];
      for (const end of ends) {
        await start({ refreshGracePeriod: 60 });
        const next = await ctx.sessions.refresh(tokens.refresh);
        await end(ctx, tokens);
        await expect(ctx.sessions.refresh(tokens.refresh)).rejects.toBeInstanceOf(UnauthorizedError);
        await expect(ctx.sessions.refreshByAccess(tokens.access)).rejects.toBeInstanceOf(UnauthorizedError);
        expect(await stillHonoured(ctx, next)).toEqual([]);
        if (kind === 'redis') expect(await successorValues(stores.admin)).toEqual([]);
      }
    });

    it('gives a retired token nothing once the cap evicted its session inside the window', async () => {
      await start({ refreshGracePeriod: 60, maxSessionsPerNamespace: 1 });
      const next = await ctx.sessions.refresh(tokens.refresh);
      await ctx.sessions.login({ payload: { user_id: 42 }, namespace: NS });
      await expect(ctx.sessions.refresh(tokens.refresh)).rejects.toBeInstanceOf(UnauthorizedError);
      expect(await stillHonoured(ctx, next)).toEqual([]);
      if (kind === 'redis') expect(await successorValues(stores.admin)).toEqual([]);
    });

    it('replays to each session its own successors, never another session\'s', async () => {
      await start({ refreshGracePeriod: 60 });
      const other = await ctx.sessions.login({ payload: { user_id: 42 }, namespace: NS });
      const [mine, theirs] = await Promise.all([ctx.sessions.refresh(tokens.refresh), ctx.sessions.refresh(other.refresh)]);
      const [mineAgain, theirsAgain] = await Promise.all([ctx.sessions.refresh(tokens.refresh), ctx.sessions.refresh(other.refresh)]);
      expect([mineAgain.refresh, theirsAgain.refresh]).toEqual([mine.refresh, theirs.refresh]);
      expect(claimsOf(mineAgain.refresh as string).uid).toBe(sessionIdOf(tokens));
    });

    it('does not let a replay move the idle deadline or outlive an idle session', async () => {
      await start({ refreshGracePeriod: 300, idleTimeout: 3601 });
      const next = await ctx.sessions.refresh(tokens.refresh);
      const [before] = await ctx.sessions.listSessions(NS);
      ctx.clock.advance(200);
      await ctx.sessions.refresh(tokens.refresh);
      const [after] = await ctx.sessions.listSessions(NS);
      expect(after.idle_expires_at).toEqual(before.idle_expires_at);
      expect(next.refresh).toBeDefined();
    });

    it('refuses a forged rid (another session\'s current one) without revoking either session', async () => {
      await start();
      const other = await ctx.sessions.login({ payload: { user_id: 42 }, namespace: NS });
      const forged = forge(tokens.refresh, { rid: claimsOf(other.refresh).rid, uid: claimsOf(other.refresh).uid });
      await expect(ctx.sessions.refresh(forged)).rejects.toBeInstanceOf(UnauthorizedError);
      expect(await stillHonoured(ctx, tokens)).toEqual(['access', 'refresh']);
      expect(await stillHonoured(ctx, other)).toEqual(['access', 'refresh']);
    });

    it.each([
      ['a number', 123],
      ['an empty string', ''],
      ['an object', { toString: 'x' }],
      ['null', null],
      ['an array', ['a']],
    ])('refuses a signed refresh token whose rid is %s without revoking (no 500)', async (_name, rid) => {
      await start();
      const claims = claimsOf(tokens.refresh);
      const token = signWithTestKey('refresh', { ...claims, rid });
      const error = await ctx.sessions.refresh(token).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(UnauthorizedError);
      expect((error as Error).message).not.toMatch(/reused/);
      expect(await stillHonoured(ctx, tokens)).toEqual(['access', 'refresh']);
    });

    it('takes a signed refresh token with a huge unknown rid as reuse (it cannot be forged) without any store error', async () => {
      await start();
      const token = signWithTestKey('refresh', { ...claimsOf(tokens.refresh), rid: 'x'.repeat(5000) });
      await expect(ctx.sessions.refresh(token)).rejects.toMatchObject(REUSED);
      expect(await stillHonoured(ctx, tokens)).toEqual([]);
    });

    it('rotates a legacy token (no rid) of a session started without rotation once; a copy of it later is reuse', async () => {
      const shared = kind === 'memory' ? new MemoryTokenStore() : undefined;
      const storeOption = shared ? { store: shared } : stores.storeOptions(kind);
      const clock = realTimeClock();
      const plain = await stores.setup(kind, storeOption, clock);
      const rotating = await stores.setup(kind, { ...ROTATE, ...storeOption }, clock);
      const legacy = await plain.sessions.login({ payload: { user_id: 42 }, namespace: NS });
      expect(claimsOf(legacy.refresh).rid).toBeUndefined();
      const next = await rotating.sessions.refresh(legacy.refresh);
      expect(claimsOf(next.refresh as string).rid).toEqual(expect.any(String));
      clock.advance(6);
      await expect(rotating.sessions.refresh(legacy.refresh)).rejects.toMatchObject(REUSED);
      expect(await stillHonoured(rotating, next)).toEqual([]);
    });

    it('answers the latest access token after flushNamespacedAccessTokens with 401 without revoking; its refresh token still rotates', async () => {
      await start();
      await ctx.sessions.flushNamespacedAccessTokens(NS);
      await expect(ctx.sessions.refreshByAccess(tokens.access)).rejects.not.toMatchObject(REUSED);
      const next = await ctx.sessions.refresh(tokens.refresh);
      expect(await stillHonoured(ctx, next)).toEqual(['access', 'refresh']);
    });
  });

  describe('session management (held up)', () => {
    it('revokeSession never ends a session of another namespace, of none, or by a malformed / hash-tag / huge id', async () => {
      await start();
      const mine = sessionIdOf(tokens);
      const loose = await ctx.sessions.login({ payload: {} });
      const ids = [
        mine, `${mine} `, mine.toUpperCase(), `{${mine.slice(0, 16)}}${mine.slice(16)}`, `${mine.slice(0, 16)}}.x`, '{}', '',
        'x'.repeat(100_000), '__proto__', 'constructor', sessionIdOf(loose), `${mine}\u0000`,
      ];
      for (const id of ids) expect(await ctx.sessions.revokeSession('user-43', id)).toBe(0);
      expect(await ctx.sessions.revokeSession(NS, sessionIdOf(loose))).toBe(0);
      expect(await stillHonoured(ctx, tokens)).toEqual(['access', 'refresh']);
      expect(await stillHonoured(ctx, loose)).toEqual(['access', 'refresh']);
    });

    it('revokeOtherSessions with a foreign or malformed current id ends only that namespace', async () => {
      await start();
      const neighbour = await ctx.sessions.login({ payload: {}, namespace: 'user-43' });
      expect(await ctx.sessions.revokeOtherSessions(NS, sessionIdOf(neighbour))).toBe(1);
      expect(await stillHonoured(ctx, neighbour)).toEqual(['access', 'refresh']);
      expect(await ctx.sessions.revokeOtherSessions('user-43', '{bad}')).toBe(1);
    });

    it('keeps a cap to its namespace: logins in one never evict another\'s, nor a session without namespace', async () => {
      await start({ maxSessionsPerNamespace: 1 });
      const loose = await ctx.sessions.login({ payload: {} });
      const neighbour = await ctx.sessions.login({ payload: {}, namespace: 'user-43' });
      for (let i = 0; i < 5; i++) await ctx.sessions.login({ payload: {}, namespace: NS });
      expect(await stillHonoured(ctx, loose)).toEqual(['access', 'refresh']);
      expect(await stillHonoured(ctx, neighbour)).toEqual(['access', 'refresh']);
      expect(await ctx.sessions.listSessions(NS)).toHaveLength(1);
    });

    it('stores and lists a very long or unicode user agent and IP, cut to 512 characters, the same on both stores', async () => {
      await start({}, { userAgent: `Mozilla/5.0 ${'\u00e9\u4e2d\u{1F600}'.repeat(2000)}`, ip: `::ffff:${'1'.repeat(10_000)}` });
      const [listed] = await ctx.sessions.listSessions(NS);
      expect(listed.user_agent).toBe(`Mozilla/5.0 ${'\u00e9\u4e2d\u{1F600}'.repeat(2000)}`.slice(0, 512));
      expect(listed.ip).toHaveLength(512);
    });

    it('refuses a user agent or IP that is not a string (no 500, nothing stored)', async () => {
      ctx = await stores.setup(kind, ROTATE);
      for (const bad of [42, {}, ['ua'], '\ud800']) {
        await expect(ctx.sessions.login({ namespace: NS, userAgent: bad as string })).rejects.toHaveProperty('code', 'ERR_JWT_SESSIONS_INVALID_PAYLOAD');
        await expect(ctx.sessions.login({ namespace: NS, ip: bad as string })).rejects.toHaveProperty('code', 'ERR_JWT_SESSIONS_INVALID_PAYLOAD');
      }
      expect(await ctx.sessions.listSessions(NS)).toEqual([]);
    });
  });

  describe('events (held up)', () => {
    it('never carry a token, a CSRF token or secret, a token id or the payload', async () => {
      await start({ maxSessionsPerNamespace: 2 }, { payload: { user_id: 42, secret: 'payload-secret' } });
      const events = record(ctx);
      const secrets: string[] = [tokens.access, tokens.refresh, tokens.csrf, claimsOf(tokens.access).uid as string, claimsOf(tokens.refresh).rid as string];
      const next = await ctx.sessions.refresh(tokens.refresh);
      await ctx.sessions.refresh(tokens.refresh);
      secrets.push(next.access, next.refresh as string, next.csrf, claimsOf(next.refresh as string).rid as string);
      const more = await ctx.sessions.login({ payload: { user_id: 42 }, namespace: NS });
      await ctx.sessions.login({ payload: { user_id: 42 }, namespace: NS });
      secrets.push(more.refresh);
      ctx.clock.advance(6);
      await ctx.sessions.refresh(next.refresh as string).catch(() => undefined);
      await ctx.sessions.refresh(next.refresh as string).catch(() => undefined);
      const text = JSON.stringify(events);
      expect(events.length).toBeGreaterThan(4);
      for (const secret of [...secrets, 'payload-secret']) expect(text).not.toContain(secret);
    });
  });
});

describe('SessionEvents listeners', () => {
  let ctx: Awaited<ReturnType<typeof setup>>;
  let logged: jest.SpiedFunction<Logger['error']>;
  beforeEach(async () => {
    ctx = await setup({ ...ROTATE });
    logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });
  afterEach(async () => {
    logged.mockRestore();
    await ctx.close();
  });

  // Review finding (low, fixed): SessionEvents.report builds its message with `${error.message ?? error}` (session-events.ts:55):
  // a thrown Symbol, a null-prototype object, or an error whose message getter throws makes report itself throw, out
  // of emit, so the request fails although the operation took effect (a session created but the login answers 500;
  // a rotation applied but its tokens lost, so the client's next refresh after the window is reuse and revokes it).
  it.each([
    ['a Symbol', () => Symbol('listener failed')],
    ['a null-prototype object', () => Object.create(null) as object],
    ['an error whose message getter throws', () => Object.defineProperty(new Error(), 'message', { get() { throw new Error('getter'); } })],
  ])('a listener that throws %s never fails the login, and is logged', async (_name, thrown) => {
    ctx.moduleRef.get(SessionEvents).on('session.created', () => {
      throw thrown();
    });
    const answer = await settle(ctx.sessions.login({ namespace: NS }));
    expect(answer.ok).toBe(true);
    expect(logged).toHaveBeenCalled();
  });

  // Same root cause, asynchronous: report throws inside the .catch handler, so the rejection it was meant to absorb
  // becomes an unhandled rejection (the process exits under Node's default --unhandled-rejections=throw).
  it('a listener that rejects with a Symbol is logged and leaves no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      ctx.moduleRef.get(SessionEvents).on('session.created', async () => {
        throw Symbol('async listener failed');
      });
      await ctx.sessions.login({ namespace: NS });
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(logged).toHaveBeenCalled();
    expect(unhandled).toEqual([]);
  });

  it('a listener that throws an Error, rejects, unsubscribes itself or others, or subscribes more does not fail the request', async () => {
    const events = ctx.moduleRef.get(SessionEvents);
    const seen: string[] = [];
    const offOther = events.on('*', (event) => void seen.push(`other:${event.type}`));
    const offSelf: () => void = events.on('*', () => {
      offSelf();
      offOther();
      events.on('*', (event) => void seen.push(`late:${event.type}`));
      throw new Error('boom');
    });
    events.on('session.created', () => Promise.reject(new Error('async boom')));
    await expect(ctx.sessions.login({ namespace: NS })).resolves.toHaveProperty('refresh');
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(logged).toHaveBeenCalledTimes(2);
  });

  it('hands listeners a frozen event: a listener cannot change what the next one sees', async () => {
    const events = ctx.moduleRef.get(SessionEvents);
    const seen: unknown[] = [];
    events.on('session.created', (event) => {
      (event as { sessionId: string }).sessionId = 'tampered';
    });
    events.on('session.created', (event) => void seen.push(event.sessionId));
    const login = await ctx.sessions.login({ namespace: NS });
    expect(seen).toEqual([claimsOf(login.access).ruid]);
  });
});

describe('Redis layout and races (real Redis)', () => {
  let ctx: Ctx;

  // Review finding (medium, fixed): the successors key (jwt_g:{tag}.<id>, redis-scripts.ts:155 RPUSH, args from redis-token.store.ts:121) holds
  // the successor access AND refresh tokens in clear for grace + 5 s, and every rotating EVALSHA carries them as
  // arguments (visible to MONITOR, and to SLOWLOG up to 128 bytes). Before issue 5 Redis held only ids and the CSRF
  // secret: read access to Redis (a replica, an RDB/AOF copy, a monitoring tool, a read-only ACL user) could not mint
  // a token; now it yields bearer tokens of every session refreshed in the last seconds.
  it('nothing Redis keeps for the grace window is a usable bearer token', async () => {
    ctx = await stores.setup('redis', ROTATE);
    const tokens = await ctx.sessions.login({ payload: { user_id: 42 }, namespace: NS });
    await ctx.sessions.refresh(tokens.refresh);
    const kept = await successorValues(stores.admin);
    expect(kept).toHaveLength(2);
    const usable: string[] = [];
    for (const value of kept) {
      if ((await ctx.sessions.sessionExists(value)) || (await ctx.sessions.sessionExists(value, 'refresh'))) usable.push(value.slice(0, 20));
    }
    expect(usable).toEqual([]);
  });

  it('leaves every key with a TTL, and no successors key without (or outliving) its session, through a whole life', async () => {
    ctx = await stores.setup('redis', { ...ROTATE, refreshGracePeriod: 300, idleTimeout: 7200, maxSessionsPerNamespace: 2 });
    const a = await ctx.sessions.login({ payload: { user_id: 42 }, namespace: NS, refreshByAccessAllowed: true, userAgent: 'ua', ip: '::1' });
    const b = await ctx.sessions.login({ payload: { user_id: 42 }, namespace: NS, refreshExpiresIn: 7300 });
    const loose = await ctx.sessions.login({ payload: {}, refreshExpiresIn: 7300 });
    const a2 = await ctx.sessions.refresh(a.refresh);
    await ctx.sessions.refresh(a.refresh);
    await ctx.sessions.refresh(b.refresh);
    await ctx.sessions.refresh(loose.refresh);
    expect(await layoutViolations(stores.admin)).toEqual([]);
    await ctx.sessions.flushNamespacedAccessTokens(NS);
    await ctx.sessions.refreshByAccess(a2.access).catch(() => undefined);
    expect(await layoutViolations(stores.admin)).toEqual([]);
    await ctx.sessions.login({ payload: { user_id: 42 }, namespace: NS }); // evicts the oldest
    expect(await layoutViolations(stores.admin)).toEqual([]);
    await ctx.sessions.revokeOtherSessions(NS, sessionIdOf(b));
    expect(await layoutViolations(stores.admin)).toEqual([]);
    ctx.clock.advance(301);
    await ctx.sessions.refresh(b.refresh).catch(() => undefined); // reuse: revoked
    expect(await layoutViolations(stores.admin)).toEqual([]);
    expect((await dumpKeys(stores.admin)).map((info) => info.key).filter((key) => !key.includes(sessionIdOf(loose).slice(17))))
      .toEqual([]);
  });

  // Review finding (info, fixed): LIST and UNLINK_NAMESPACE_ACCESS drop dead members through live_members but never call
  // fit_index_ttl (redis-scripts.ts:202-219), unlike CREATE, ROTATE, DELETE and DELETE_NAMESPACE: once the longest-lived
  // member goes (idle), the index keeps that member's TTL, contradicting "an index lives exactly as long as its
  // longest-lived member, and no longer once that one is gone". Bounded garbage, no authorization effect.
  it('listing a namespace that lost its longest-lived member (idle) fits the index TTL to the members left', async () => {
    ctx = await stores.setup('redis', { ...ROTATE, idleTimeout: 3601 });
    const long = await ctx.sessions.login({ payload: {}, namespace: NS });
    const short = await ctx.sessions.login({ payload: {}, namespace: NS, refreshExpiresIn: 7300 });
    ctx.clock.advance(3000);
    await ctx.sessions.refresh(short.refresh);
    ctx.clock.advance(700); // `long` is idle now; `short` is not
    expect((await ctx.sessions.listSessions(NS)).map((session) => session.id)).toEqual([sessionIdOf(short)]);
    const [index] = await stores.admin.keys('jwt_n:*');
    const shortEnd = Math.floor(new Date((await ctx.sessions.listSessions(NS))[0].expires_at).getTime() / 1000);
    // Today: the index keeps `long`'s TTL (about 7 days) instead of `short`'s (about 2 hours).
    expect(await stores.admin.ttl(index)).toBeLessThanOrEqual(shortEnd - Math.floor(Date.now() / 1000) + 1);
    expect(long.refresh).toBeDefined();
  });

  const RACES = 25;

  it(`a rotation racing flushNamespaced (${RACES} times) never leaves a live token or a key behind`, async () => {
    ctx = await stores.setup('redis', { ...ROTATE, refreshGracePeriod: 300 });
    for (let i = 0; i < RACES; i++) {
      const login = await ctx.sessions.login({ payload: { user_id: 42 }, namespace: NS, refreshByAccessAllowed: true });
      const [one, two, , three] = await Promise.all([
        settle(ctx.sessions.refresh(login.refresh)), settle(ctx.sessions.refreshByAccess(login.access)),
        ctx.sessions.flushNamespaced(NS), settle(ctx.sessions.refresh(login.refresh)),
      ]);
      for (const result of [one, two, three]) if (result.ok) expect(await stillHonoured(ctx, result.value)).toEqual([]);
      expect(await stillHonoured(ctx, login)).toEqual([]);
      expect(await dumpKeys(stores.admin)).toEqual([]);
    }
  });

  it(`a rotation racing revokeOtherSessions (${RACES} times) ends the other session entirely and keeps the caller's`, async () => {
    ctx = await stores.setup('redis', { ...ROTATE, refreshGracePeriod: 300 });
    const keep = await ctx.sessions.login({ payload: { user_id: 42 }, namespace: NS });
    let current: SessionTokens = keep;
    for (let i = 0; i < RACES; i++) {
      const other = await ctx.sessions.login({ payload: { user_id: 42 }, namespace: NS });
      const [mine, theirs] = await Promise.all([
        ctx.sessions.refresh(current.refresh), settle(ctx.sessions.refresh(other.refresh)),
        ctx.sessions.revokeOtherSessions(NS, sessionIdOf(keep)),
      ]);
      current = mine as SessionTokens;
      if (theirs.ok) expect(await stillHonoured(ctx, theirs.value)).toEqual([]);
      expect(await stillHonoured(ctx, other)).toEqual([]);
      expect(await stillHonoured(ctx, current)).toEqual(['access', 'refresh']);
      expect(await layoutViolations(stores.admin)).toEqual([]);
      expect((await stores.admin.keys('jwt_g:*')).filter((key) => key.endsWith(sessionIdOf(other).slice(16)))).toEqual([]);
    }
  });

  it(`a rotation racing unlinkNamespaceAccess (${RACES} times) leaves a consistent session: a live access token iff listed live`, async () => {
    ctx = await stores.setup('redis', { ...ROTATE, refreshGracePeriod: 300 });
    let current: SessionTokens = await ctx.sessions.login({ payload: { user_id: 42 }, namespace: NS });
    for (let i = 0; i < RACES; i++) {
      const [next] = await Promise.all([ctx.sessions.refresh(current.refresh), ctx.sessions.flushNamespacedAccessTokens(NS)]);
      const [listed] = await ctx.sessions.listSessions(NS);
      expect(await ctx.sessions.sessionExists(next.access)).toBe(listed.access_expires_at !== null);
      expect(await ctx.sessions.sessionExists(next.refresh as string, 'refresh')).toBe(true);
      current = next as SessionTokens;
      expect(await layoutViolations(stores.admin)).toEqual([]);
    }
  });

  it(`rotations racing flushAll (${RACES} sessions at once) leave no live token behind`, async () => {
    ctx = await stores.setup('redis', { ...ROTATE, refreshGracePeriod: 300 });
    const logins = await Promise.all(Array.from({ length: RACES }, (_, i) => ctx.sessions.login({ payload: {}, namespace: `ns-${i % 3}` })));
    const results = await Promise.all([
      ...logins.map((login) => settle(ctx.sessions.refresh(login.refresh))),
      ctx.sessions.flushAll(),
      ...logins.map((login) => settle(ctx.sessions.refresh(login.refresh))),
    ]);
    for (const result of results) {
      if (typeof result === 'object' && result.ok) expect(await stillHonoured(ctx, result.value)).toEqual([]);
    }
    for (const login of logins) expect(await stillHonoured(ctx, login)).toEqual([]);
  });

  // Review finding (info, fixed): deleteAll scans the successors keys before the session keys (redis-token.store.ts:161-162): a
  // rotation that lands between the two scans writes a successors key (holding the new tokens in clear) and then loses
  // its session to the session scan, so the successors key outlives its session by up to grace + 5 s. The tokens in
  // it are dead (no session), so nothing authorizes; the layout promise ("never outlives its session") is broken, and
  // with the clear-text finding above they sit in Redis for nothing. Scanning sessions before successors fixes it.
  // (Concurrently, 25 rotations racing one flushAll hit this in about two runs out of three; here the rotation is
  // placed between the two scans.)
  it('a rotation landing inside flushAll leaves no successors key without its session', async () => {
    ctx = await stores.setup('redis', { ...ROTATE, refreshGracePeriod: 300 });
    const login = await ctx.sessions.login({ payload: {}, namespace: NS });
    const client = (ctx.store as RedisTokenStore).client as unknown as { scan: (...args: unknown[]) => Promise<unknown> };
    const scan = client.scan.bind(client);
    let rotated: Promise<unknown> | undefined;
    jest.spyOn(client, 'scan').mockImplementation(async (...args: unknown[]) => {
      // The first scan of session keys: the successors keys were scanned already.
      if (String(args[2]).includes('s:{') && rotated === undefined) await (rotated = ctx.sessions.refresh(login.refresh));
      return scan(...args);
    });
    expect(await ctx.sessions.flushAll()).toBe(1);
    await expect(rotated).resolves.toHaveProperty('refresh');
    // Today: [ 'jwt_g:{tag}.<id> outlives its session' ], TTL about 305 s.
    expect(await layoutViolations(stores.admin)).toEqual([]);
  });

  it(`${RACES} concurrent reuses of one retired token revoke once, answer 401 to all, and leave no key`, async () => {
    ctx = await stores.setup('redis', { ...ROTATE });
    const events = record(ctx);
    const login = await ctx.sessions.login({ payload: {}, namespace: NS });
    const next = await ctx.sessions.refresh(login.refresh);
    ctx.clock.advance(6);
    const results = await Promise.all(Array.from({ length: RACES }, () => settle(ctx.sessions.refresh(login.refresh))));
    expect(results.every((result) => !result.ok && result.error instanceof UnauthorizedError)).toBe(true);
    expect(await stillHonoured(ctx, next)).toEqual([]);
    expect(await dumpKeys(stores.admin)).toEqual([]);
    expect(events.filter((event) => event.type === 'refresh.reuse-detected').length).toBeGreaterThanOrEqual(1);
  });
});

describe.each([['memory'], ['redis']])('the sample with rotation on the %s store', (storeKind) => {
  let sample: SampleApp;
  beforeEach(async () => {
    sample = await bootRotationSample(storeKind === 'redis' ? (stores.storeOptions('redis').store as { url: string }).url : undefined);
  });
  afterEach(async () => {
    await sample.close();
  });

  // Review finding (medium, fixed), over HTTP: the victim refreshes with POST /refresh (no early check there); within 5 s the thief
  // holding the victim's still-live access token posts it to POST /refresh_by_access, whose onEarlyRefresh answers
  // "Malicious activity detected" to any live token: today the thief gets 200 and the victim's new refresh cookie.
  it('a stolen live access token gets no refresh cookie from /refresh_by_access after the victim refreshed', async () => {
    const victim = await loginUser(sample);
    const steal = () => sample.http().post('/refresh_by_access').set('Authorization', `Bearer ${victim.access}`);
    // The thief can poll for free: while the token is the latest, onEarlyRefresh refuses it and nothing else happens.
    for (let i = 0; i < 3; i++) expect((await steal()).status).toBe(401);
    const refreshed = await sample.http().post('/refresh').set('X-Refresh-Token', victim.refresh);
    expect(refreshed.status).toBe(200);
    const thief = await steal();
    const cookies = setCookies(thief);
    // Today: 200, and the Set-Cookie carries the victim's new refresh token (and access token).
    expect({ status: thief.status, gotVictimsRefresh: cookies[REFRESH_COOKIE]?.value === refreshed.body.refresh })
      .toEqual({ status: 401, gotVictimsRefresh: false });
  });

  // Review finding (low, availability, fixed): the grace window does not work for cookie-borne tokens. Two tabs share the cookies and
  // the CSRF token; the first refresh rotates the CSRF secret, and the guard checks the second tab's CSRF token
  // against the new secret (csrf-check.ts:29) before the refresher could replay: the second tab gets 401, which the
  // grace window was meant to prevent ("nobody is logged out by a race").
  it('a second tab repeating a cookie refresh within the window gets the same tokens, not a CSRF 401', async () => {
    const login = await sample.http().post('/login_with_cookies').send({ email: 'user@example.com', password: 'password123' });
    const cookies = setCookies(login);
    sample.clock.advance(ACCESS_EXP + 1);
    const byAccess = () => sample.http().post('/refresh_by_access')
      .set('Cookie', cookieHeader({ [ACCESS_COOKIE]: cookies[ACCESS_COOKIE].value })).set('X-CSRF-Token', login.body.csrf);
    const first = await byAccess();
    expect(first.status).toBe(200);
    const second = await byAccess();
    // Today: 401 "CSRF token is invalid"; with the tokens in headers the same repeat is replayed (see the race test below).
    expect({ status: second.status, message: second.body.message }).toEqual({ status: 200, message: undefined });
    expect(setCookies(second)[REFRESH_COOKIE]?.value).toBe(setCookies(first)[REFRESH_COOKIE].value);
  });

  it('DELETE /sessions/:id of another user, or with a malformed, hash-tag or huge id, answers 404 and ends nothing', async () => {
    const email = `other-${Date.now()}@example.com`;
    await createUser(sample, email, 'password456');
    const victim = await loginUser(sample);
    const victimId = claimsOf(victim.access).ruid as string;
    const attacker = await loginUser(sample, { email, password: 'password456' });
    for (const id of [victimId, encodeURIComponent(`{${victimId.slice(0, 16)}}`), '%7B%7D', 'x'.repeat(4000), '%00', encodeURIComponent(victimId + ' ')]) {
      const answer = await sample.http().delete(`/sessions/${id}`).set('Authorization', `Bearer ${attacker.access}`);
      expect([404, 414, 431]).toContain(answer.status);
    }
    expect((await sample.http().get('/sessions').set('Authorization', `Bearer ${victim.access}`)).status).toBe(200);
  });

  it('an access token two generations old revokes the session at /refresh_by_access; a retired one after the window too', async () => {
    const victim = await loginUser(sample);
    sample.clock.advance(ACCESS_EXP + 1);
    const first = await sample.http().post('/refresh_by_access').set('Authorization', `Bearer ${victim.access}`);
    expect(first.status).toBe(200);
    const firstAccess = setCookies(first)[ACCESS_COOKIE].value;
    sample.clock.advance(ACCESS_EXP + 1);
    const second = await sample.http().post('/refresh_by_access').set('Authorization', `Bearer ${firstAccess}`);
    expect(second.status).toBe(200);
    expect((await sample.http().post('/refresh_by_access').set('Authorization', `Bearer ${victim.access}`)).status).toBe(401);
    const secondRefresh = setCookies(second)[REFRESH_COOKIE].value;
    expect((await sample.http().post('/refresh').set('X-Refresh-Token', secondRefresh)).status).toBe(401);
  });

  it('logins with a 16 KB user agent and unicode in it answer 200 and list it cut to 512', async () => {
    const answer = await sample.http().post('/login').set('User-Agent', `UA ${'z'.repeat(16_000)}`).send({ email: 'user@example.com', password: 'password123' });
    expect(answer.status).toBe(200);
    const listed = await sample.http().get('/sessions').set('Authorization', `Bearer ${answer.body.access}`);
    const mine = (listed.body.sessions as Array<{ current: boolean; user_agent: string }>).find((s) => s.current);
    expect(mine?.user_agent).toHaveLength(512);
  });

  it(`forty concurrent header refreshes of one token all answer 200 with one pair (nobody is logged out by a race)`, async () => {
    const login = await loginUser(sample);
    const answers = await Promise.all(Array.from({ length: 40 }, () => sample.http().post('/refresh').set('X-Refresh-Token', login.refresh)));
    expect(answers.map((answer) => answer.status).filter((status) => status !== 200)).toEqual([]);
    expect(new Set(answers.map((answer) => answer.body.refresh)).size).toBe(1);
  });
});
