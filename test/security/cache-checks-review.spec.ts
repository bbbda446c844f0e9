/**
 * Attacker-minded review of ce05c36: the verified-token cache keeps a token's first set of checks inline (`checks`,
 * `until`) and any further sets in `others`, `forget` promotes one of `others` when the inline set ends, and the
 * guard's access check hands one clock reading (`now`) to the cache and to the store.
 *
 * The layout held: no set answers for checks it did not pass, none outlives its own `until` (inline, in `others` or
 * promoted), the reset when full keeps only the newest set, types, tokens and apps stay apart, and `now` is the
 * module clock's current second. One low finding, not in the layout itself, mended (tests "Review finding"): route
 * claims were not validated, and a `leeway` given as a duration string, which jose accepts, made the cache answer the
 * token for ever and turned the module's own `iat` check off.
 */
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import {
  AccessAuth, MalconfiguredError, SessionService, TokenClaims, TokenPayload, UnauthorizedError, type SessionTokens, type TokenClaimsOptions,
} from '../../lib/index.js';
import { MAX_LEEWAY } from '../../lib/jwt-sessions.constants.js';
import { TokenCodec } from '../../lib/tokens/token-codec.js';
import { VerifiedTokenCache } from '../../lib/tokens/verified-token-cache.js';
import { ManualClock } from '../support/manual-clock.js';
import { decodePayload, setup } from '../support/setup.js';
import { hmacToken } from './support/forge.js';
import { bootReviewApp, REVIEW_HS256_KEY, type ReviewApp } from './support/review-fixture.js';

const ACCESS_EXPIRES_IN = 60;
/** The module's leeway; routes below ask for less, more, or an audience on top. */
const MODULE_LEEWAY = 30;
const LENIENT_LEEWAY = 120;
/** Route claims as an app reading them from configuration hands them over: unchecked, a jose duration string. */
const DURATION_LEEWAY = { leeway: '30s' } as unknown as TokenClaimsOptions;
const EXPIRED = 'ERR_JWT_SESSIONS_EXPIRED';
const CLAIMS = 'ERR_JWT_SESSIONS_CLAIMS_VERIFICATION';
/** Far from the real date, so a cache read by Date.now() instead of the module clock would answer expired tokens. */
const START = Date.UTC(2100, 0, 1);

@Controller()
class ChecksController {
  constructor(private readonly sessions: SessionService) {}

  @Post('login')
  @HttpCode(200)
  login(@Body() body: { payload?: Record<string, unknown> }): Promise<SessionTokens> {
    return this.sessions.login({ payload: body?.payload ?? { user_id: 1 } });
  }

  /** The module's checks only. */
  @Get('plain')
  @AccessAuth()
  plain(@TokenPayload('user_id') userId: unknown) {
    return { userId };
  }

  @Get('strict')
  @AccessAuth({ claims: { leeway: 0 } })
  strict(@TokenPayload('user_id') userId: unknown) {
    return { userId };
  }

  @Get('lenient')
  @AccessAuth({ claims: { leeway: LENIENT_LEEWAY } })
  lenient(@TokenPayload('user_id') userId: unknown) {
    return { userId };
  }

  @Get('admin')
  @TokenClaims({ audience: 'admin' })
  @AccessAuth()
  admin(@TokenPayload('user_id') userId: unknown) {
    return { userId };
  }

  @Get('duration')
  @AccessAuth({ claims: DURATION_LEEWAY })
  duration(@TokenPayload('user_id') userId: unknown) {
    return { userId };
  }
}

/** What one guarded request came to: its status, the refusal's code, and how many signatures were checked for it. */
interface Outcome {
  status: number;
  code?: string;
  signatureChecks: number;
}

const fromCache: Outcome = { status: 200, signatureChecks: 0 };
const afterCheck: Outcome = { status: 200, signatureChecks: 1 };
const refused = (code: string): Outcome => ({ status: 401, code, signatureChecks: 1 });

describe('verified-token cache, inline and other sets of checks (ce05c36), over HTTP', () => {
  let fixture: ReviewApp;
  let verify: ReturnType<typeof jest.spyOn>;

  beforeEach(async () => {
    fixture = await bootReviewApp(
      { accessExpiresIn: ACCESS_EXPIRES_IN, verify: { leeway: MODULE_LEEWAY } },
      { controllers: [ChecksController], clock: new ManualClock(START) },
    );
    verify = jest.spyOn(globalThis.crypto.subtle, 'verify');
  });

  afterEach(async () => {
    verify.mockRestore();
    await fixture.close();
  });

  async function login(payload?: Record<string, unknown>): Promise<string> {
    const response = await fixture.http().post('/login').send({ payload });
    expect(response.status).toBe(200);
    return (response.body as SessionTokens).access;
  }

  async function send(path: string, token: string): Promise<Outcome> {
    const before = verify.mock.calls.length;
    const response = await fixture.http().get(path).set('Authorization', `Bearer ${token}`);
    const code = response.status === 200 ? {} : { code: (response.body as { code?: string }).code };
    return { status: response.status, ...code, signatureChecks: verify.mock.calls.length - before };
  }

  /** Sends the token to each path in turn and answers the outcomes, in order. */
  async function sendAll(token: string, paths: string[]): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
    for (const path of paths) outcomes.push(await send(path, token));
    return outcomes;
  }

  it('ends each set at its own exp plus leeway, inline or promoted, by the module clock read for that request', async () => {
    const access = await login();
    // Inline: strict (until exp); others: plain (exp + 30), lenient (exp + 120).
    expect(await sendAll(access, ['/strict', '/plain', '/lenient', '/strict'])).toEqual([afterCheck, afterCheck, afterCheck, fromCache]);
    fixture.clock.advance(ACCESS_EXPIRES_IN - 1);
    expect(await sendAll(access, ['/strict', '/plain', '/lenient'])).toEqual([fromCache, fromCache, fromCache]);
    // At exp the inline set ends and plain is promoted; the strict route is never answered by what took its place.
    fixture.clock.advance(1);
    expect(await sendAll(access, ['/strict', '/strict', '/plain', '/lenient'])).toEqual([refused(EXPIRED), refused(EXPIRED), fromCache, fromCache]);
    fixture.clock.advance(MODULE_LEEWAY - 1);
    expect(await send('/plain', access)).toEqual(fromCache);
    // The promoted set ends at its own end, not the strict one's and not the lenient one's.
    fixture.clock.advance(1);
    expect(await sendAll(access, ['/plain', '/strict', '/lenient', '/plain'])).toEqual([refused(EXPIRED), refused(EXPIRED), fromCache, refused(EXPIRED)]);
    fixture.clock.advance(LENIENT_LEEWAY - MODULE_LEEWAY - 1);
    expect(await send('/lenient', access)).toEqual(fromCache);
    fixture.clock.advance(1);
    expect(await sendAll(access, ['/lenient', '/lenient'])).toEqual([refused(EXPIRED), refused(EXPIRED)]);
  });

  it('never lets a set passed under a bigger leeway or without an audience answer for a stricter route, in either order', async () => {
    const user = await login();
    const admin = await login({ user_id: 2, aud: 'admin' });
    // The lenient set is the user token's inline one, the plain set one of its others.
    expect(await sendAll(user, ['/lenient', '/plain', '/admin', '/admin'])).toEqual([afterCheck, afterCheck, refused(CLAIMS), refused(CLAIMS)]);
    expect(await sendAll(admin, ['/plain', '/admin', '/admin', '/plain'])).toEqual([afterCheck, afterCheck, fromCache, fromCache]);
    fixture.clock.advance(ACCESS_EXPIRES_IN + 10);
    expect(await sendAll(user, ['/strict', '/lenient', '/plain', '/strict', '/admin'])).toEqual([
      refused(EXPIRED), fromCache, fromCache, refused(EXPIRED), refused(CLAIMS),
    ]);
    expect(await sendAll(admin, ['/strict', '/admin'])).toEqual([refused(EXPIRED), fromCache]);
    // A set kept among the others ends at its own end while the inline one, more lenient, goes on.
    fixture.clock.advance(MODULE_LEEWAY - 10);
    expect(await sendAll(user, ['/plain', '/lenient', '/plain'])).toEqual([refused(EXPIRED), fromCache, refused(EXPIRED)]);
    expect(await sendAll(admin, ['/admin', '/plain'])).toEqual([refused(EXPIRED), refused(EXPIRED)]);
  });

  // Review finding (low, mended): route claims (`@TokenClaims`, the `claims` option, the service's `claims` argument)
  // were not validated, unlike `verify` (IsInt, 0..86400). jose takes a string `clockTolerance` as a duration ('30s'
  // is 30 s), but the codec added it to exp: `until` became the string "<exp>30s", `until <= now` was always false, and
  // the cache answered the token for as long as its session lived, long after jose refused it; the module's own iat
  // check (`iat > now + leeway`) was always false too. Now every claims check refuses such a leeway as a
  // misconfiguration: the route answers 500 (the message is not shown), nothing is verified or cached under it.
  it('Review finding (mended): a route whose leeway is not a whole number of seconds refuses every token as misconfigured', async () => {
    const access = await login();
    const misconfigured = { status: 500, code: 'ERR_JWT_SESSIONS_MALCONFIGURED', signatureChecks: 0 };
    expect(await sendAll(access, ['/duration', '/plain', '/duration'])).toEqual([misconfigured, afterCheck, misconfigured]);
    fixture.clock.advance(ACCESS_EXPIRES_IN + 30 + 3600);
    expect(await send('/duration', access)).toEqual(misconfigured);
  });

  it('Review finding (mended): the iat check is not switched off, and the service refuses such claims too', async () => {
    const claims = decodePayload(await login());
    const now = Math.floor(fixture.clock.now() / 1000);
    const future = hmacToken('HS256', REVIEW_HS256_KEY, { alg: 'HS256', typ: 'at+jwt' }, { ...claims, iat: now + 3600, exp: now + 3660 });
    expect(await send('/plain', future)).toEqual(refused(CLAIMS));
    expect((await send('/duration', future)).status).toBe(500);
    for (const leeway of ['30s', -1, 1.5, MAX_LEEWAY + 1, Number.NaN]) {
      const bad = { leeway } as unknown as TokenClaimsOptions;
      await expect(fixture.sessions.authorizeAccess(future, bad)).rejects.toBeInstanceOf(MalconfiguredError);
    }
  });
});

describe('verified-token cache, through the codec', () => {
  let ctx: Awaited<ReturnType<typeof setup>>;

  afterEach(() => ctx?.close());

  it('never answers one type for the other, even once a set is promoted, and hands out fresh copies with frozen nested values', async () => {
    ctx = await setup({ accessExpiresIn: 60, refreshExpiresIn: 600 });
    const codec = ctx.moduleRef.get(TokenCodec);
    const { access, refresh } = await ctx.sessions.login({ payload: { roles: ['user'] } });
    const exp = decodePayload(refresh).exp as number;
    await codec.verify(refresh, 'refresh');
    await codec.verify(refresh, 'refresh', { claims: { leeway: 30 } });
    await codec.verify(access, 'access');
    // The inline refresh set ends at exp; the one with leeway is promoted and still answers, for refresh only.
    expect(codec.verifiedPayload(refresh, 'refresh', undefined, exp)).toBeUndefined();
    const [first, second] = [0, 1].map(() => codec.verifiedPayload(refresh, 'refresh', { leeway: 30 }, exp));
    expect(first).toMatchObject({ roles: ['user'], exp });
    expect(second).not.toBe(first);
    expect(Object.isFrozen(first?.roles)).toBe(true);
    for (const claims of [undefined, { leeway: 30 }]) {
      expect(codec.verifiedPayload(refresh, 'access', claims, exp - 600)).toBeUndefined();
      expect(codec.verifiedPayload(access, 'refresh', claims, 0)).toBeUndefined();
    }
    await expect(ctx.sessions.authorizeAccess(refresh, { leeway: 30 })).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it('lives with the app that verified the token: another app with another key refuses it', async () => {
    const clock = new ManualClock();
    ctx = await setup({}, clock);
    const other = await setup({ signingKey: 'another-signing-key-0123456789abc' }, clock);
    try {
      const { access } = await ctx.sessions.login({});
      await ctx.sessions.authorizeAccess(access);
      expect(ctx.moduleRef.get(TokenCodec).verifiedPayload(access, 'access', undefined, 0)).toBeDefined();
      expect(other.moduleRef.get(TokenCodec).verifiedPayload(access, 'access', undefined, 0)).toBeUndefined();
      await expect(other.sessions.authorizeAccess(access)).rejects.toBeInstanceOf(UnauthorizedError);
    } finally {
      await other.close();
    }
  });
});

describe('verified-token cache layout (inline set, others, promotion, reset when full)', () => {
  const payload = { exp: 100 };

  /** Answers, for each set of checks, whether the token is answered at that second. */
  const answers = (cache: VerifiedTokenCache, token: string, at: number, checks: string[]) =>
    checks.map((set) => cache.get(token, set, at) !== undefined);

  it('promotes a set with its own end, even one already past, and never lets one set update another', () => {
    const cache = new VerifiedTokenCache(4);
    cache.set('a', 'inline', payload, 200);
    cache.set('a', 'short', payload, 100);
    cache.set('a', 'long', payload, 300);
    cache.set('b', 'short', { exp: 999 }, 999);
    // Updating a set of the others leaves the inline end alone (and the other way round).
    cache.set('a', 'long', payload, 300);
    cache.set('a', 'short', payload, 100);
    cache.set('a', 'inline', payload, 200);
    expect(answers(cache, 'a', 150, ['inline', 'long'])).toEqual([true, true]);
    // The inline set ends; the first of the others ('short', already past its own end) is promoted and not answered,
    // then the next ('long') is, until its own end.
    expect(answers(cache, 'a', 200, ['inline', 'short', 'inline', 'short', 'long'])).toEqual([false, false, false, false, true]);
    // A set passed again after its inline place went to another is kept with its new end, and the promoted one with its.
    cache.set('a', 'inline', payload, 250);
    expect(answers(cache, 'a', 249, ['inline', 'long'])).toEqual([true, true]);
    expect(answers(cache, 'a', 250, ['inline', 'long'])).toEqual([false, true]);
    expect(answers(cache, 'a', 300, ['long', 'inline'])).toEqual([false, false]);
    // Token 'a' is gone with its last set; token 'b', same checks, is its own entry.
    expect(cache.size).toBe(1);
    expect(cache.get('b', 'short', 998)).toEqual({ exp: 999 });
    expect(cache.get('a', 'short', 0)).toBeUndefined();
  });

  it('keeps eight sets; a ninth starts over with itself alone and its own end, while updating one of the eight does not', () => {
    const cache = new VerifiedTokenCache(4);
    const eight = Array.from({ length: 8 }, (_, i) => `set ${i}`);
    for (const set of eight) cache.set('a', set, payload, 1000);
    cache.set('a', 'set 7', payload, 1000);
    cache.set('a', 'set 0', payload, 1000);
    expect(answers(cache, 'a', 999, eight)).toEqual(eight.map(() => true));
    cache.set('a', 'ninth', payload, 100);
    expect(answers(cache, 'a', 0, eight)).toEqual(eight.map(() => false));
    expect(answers(cache, 'a', 99, ['ninth'])).toEqual([true]);
    expect(answers(cache, 'a', 100, ['ninth'])).toEqual([false]);
    expect(cache.size).toBe(0);
  });
});
