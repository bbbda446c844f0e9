/**
 * Attacker-minded review of two changes:
 * 1. b759c79: refresh without rotation in one store step (`TokenStore.relinkByRefreshToken`, RELINK_BY_REFRESH).
 * 2. The working tree: the verified-token cache keyed by token string with per-token checks, the module's checks
 *    precomputed in the codec, the guard's per-route plan (class -> handler), `routeClaims` answering undefined,
 *    `sessionView` field by field, `needsCsrf` returning early for header tokens, `httpRequestOf` by argument index.
 *
 * Two low findings. Fixed: a session idling out while `onEarlyRefresh` ran was revived (the link was dated before
 * the callback). Kept on purpose: a refresh of a dead session signs a token before the store says no, so that a
 * refused refresh never changes the session. The other tests pin defences that held and that the changes could have
 * broken.
 */
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { Controller, Get, HttpCode, Post, UseGuards, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import {
  AccessAuth, ClaimsVerificationError, Clock, CurrentSession, ExpiredError, JwtSessionsConfig, JwtSessionsGuard,
  JwtSessionsModule, MemoryTokenStore, SessionEvents, SessionService, TokenClaims, TokenPayload, UnauthorizedError,
  type AuthContext, type EarlyRefreshCallback, type JwtSessionsModuleOptions, type SessionEvent,
} from '../../lib/index.js';
import { TokenCodec } from '../../lib/tokens/token-codec.js';
import { ManualClock } from '../support/manual-clock.js';
import { decodePayload, setup, TEST_SIGNING_KEY } from '../support/setup.js';
import { bothStores, realTimeClock, STORE_KINDS, type Ctx, type StoreKind } from '../session/both-stores.js';

const stores = bothStores();
const NAMESPACE = 'user-7';
const REUSED = { code: 'ERR_JWT_SESSIONS_UNAUTHORIZED', message: expect.stringMatching(/reused/) };

const sessionIdOf = (refresh: string) => decodePayload(refresh).uid as string;
const seconds = (ctx: Ctx) => Math.floor(ctx.clock.now() / 1000);

function record(ctx: Ctx): SessionEvent[] {
  const events: SessionEvent[] = [];
  ctx.moduleRef.get(SessionEvents).on('*', (event) => void events.push(event));
  return events;
}

describe.each(STORE_KINDS)('refresh without rotation, one store step (b759c79), on the %s store', (kind: StoreKind) => {
  /** Nothing of a session is left: no record by the module's clock, and on Redis no key at all. */
  async function expectGone(ctx: Ctx, uid: string): Promise<void> {
    await expect(ctx.store.find(uid, seconds(ctx))).resolves.toBeNull();
    if (kind === 'redis') expect(await stores.admin.keys('*s:*')).toEqual([]);
  }

  it('does not revive a logged-out session, and refuses it without the early callback being asked', async () => {
    const ctx = await stores.setup(kind);
    const { refresh } = await ctx.sessions.login({ namespace: NAMESPACE });
    await ctx.sessions.flushByToken(refresh);
    const onEarlyRefresh = jest.fn<() => void>();
    await expect(ctx.sessions.refresh(refresh, { onEarlyRefresh })).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(ctx.sessions.refresh(refresh)).rejects.toBeInstanceOf(UnauthorizedError);
    expect(onEarlyRefresh).not.toHaveBeenCalled();
    await expectGone(ctx, sessionIdOf(refresh));
  });

  it('does not revive an idle-expired session (the store judges it by the module clock, not only by Redis TTL)', async () => {
    const ctx = await stores.setup(kind, { accessExpiresIn: 60, idleTimeout: 61 });
    const { refresh } = await ctx.sessions.login({ namespace: NAMESPACE });
    ctx.clock.advance(61);
    await expect(ctx.sessions.refresh(refresh)).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(ctx.store.find(sessionIdOf(refresh), seconds(ctx))).resolves.toBeNull();
  });

  it('does not revive an ended session whose refresh token still verifies within the leeway', async () => {
    const ctx = await stores.setup(kind, { accessExpiresIn: 60, refreshExpiresIn: 120, verify: { leeway: 30 } });
    const { refresh } = await ctx.sessions.login({ namespace: NAMESPACE });
    ctx.clock.advance(125);
    await expect(ctx.sessions.authorizeRefresh(refresh)).rejects.toThrow('Refresh token not found');
    await expect(ctx.sessions.refresh(refresh)).rejects.toThrow('Refresh token not found');
    await expect(ctx.store.find(sessionIdOf(refresh), seconds(ctx))).resolves.toBeNull();
  });

  it('never issues an access token that outlives the stored session end', async () => {
    const ctx = await stores.setup(kind, { accessExpiresIn: 60, refreshExpiresIn: 100 });
    const { refresh } = await ctx.sessions.login({ namespace: NAMESPACE });
    const uid = sessionIdOf(refresh);
    const stored = await ctx.store.find(uid, seconds(ctx));
    ctx.clock.advance(70);
    const refreshed = await ctx.sessions.refresh(refresh, { accessExpiresIn: 3600 });
    expect(decodePayload(refreshed.access).exp).toBe(stored?.expiresAt);
    expect(refreshed.access_expires_at.getTime() / 1000).toBe(stored?.expiresAt);
    expect((await ctx.store.find(uid, seconds(ctx)))?.accessExpiresAt).toBe(stored?.expiresAt);
  });

  it('keeps the hijack signal: an early refresh without a callback still emits refresh.early', async () => {
    const ctx = await stores.setup(kind, { accessExpiresIn: 600 });
    const { refresh, access } = await ctx.sessions.login({ namespace: NAMESPACE });
    const events = record(ctx);
    const refreshed = await ctx.sessions.refresh(refresh);
    expect(events.filter((event) => event.type === 'refresh.early')).toEqual([
      { type: 'refresh.early', sessionId: sessionIdOf(refresh), namespace: NAMESPACE },
    ]);
    await expect(ctx.sessions.authorizeAccess(access)).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(ctx.sessions.authorizeAccess(refreshed.access)).resolves.toBeDefined();
  });

  it('lets onEarlyRefresh refuse before anything is written: the victim\'s access token and CSRF secret stay', async () => {
    const ctx = await stores.setup(kind, { accessExpiresIn: 600 });
    const { refresh, access } = await ctx.sessions.login({ namespace: NAMESPACE });
    const uid = sessionIdOf(refresh);
    const before = await ctx.store.find(uid, seconds(ctx));
    const events = record(ctx);
    const onEarlyRefresh = jest.fn<EarlyRefreshCallback>(() => { throw new UnauthorizedError('hijack'); });
    await expect(ctx.sessions.refresh(refresh, { onEarlyRefresh })).rejects.toThrow('hijack');
    expect(onEarlyRefresh).toHaveBeenCalledWith(uid, new Date((before?.accessExpiresAt ?? 0) * 1000));
    expect(events.map((event) => event.type)).toEqual(['refresh.early']);
    expect(await ctx.store.find(uid, seconds(ctx))).toEqual(before);
    await expect(ctx.sessions.authorizeAccess(access)).resolves.toBeDefined();
  });

  it('does not revive a session logged out while onEarlyRefresh runs (compare-and-set after the callback)', async () => {
    const ctx = await stores.setup(kind, { accessExpiresIn: 600 });
    const { refresh } = await ctx.sessions.login({ namespace: NAMESPACE });
    const onEarlyRefresh = async () => { await ctx.sessions.flushByToken(refresh); };
    await expect(ctx.sessions.refresh(refresh, { onEarlyRefresh })).rejects.toBeInstanceOf(UnauthorizedError);
    await expectGone(ctx, sessionIdOf(refresh));
  });

  it('does not let a racing refresh slip in while onEarlyRefresh runs: one of the two is refused', async () => {
    const ctx = await stores.setup(kind, { accessExpiresIn: 600 });
    const { refresh } = await ctx.sessions.login({ namespace: NAMESPACE });
    // The thief's refresh lands (no callback) while the victim's is waiting on its callback.
    const onEarlyRefresh = async () => { await ctx.sessions.refresh(refresh); };
    await expect(ctx.sessions.refresh(refresh, { onEarlyRefresh })).rejects.toThrow('meanwhile');
  });

  it.each([
    ['without rotation (new in b759c79)', false],
    ['with rotation (the same pattern, since 6ef018b)', true],
  ])('refuses, rather than revives, a session that idles out while onEarlyRefresh runs, %s', async (_label, rotateRefreshTokens) => {
    // idleTimeout must exceed accessExpiresIn: at 59 s the access token is live (early), the idle deadline is 61 s.
    const ctx = await stores.setup(kind, { accessExpiresIn: 60, idleTimeout: 61, rotateRefreshTokens });
    const { refresh } = await ctx.sessions.login({ namespace: NAMESPACE });
    const uid = sessionIdOf(refresh);
    ctx.clock.advance(59);
    // An app callback that takes a while (a lookup, a prompt): the session's idle deadline passes meanwhile.
    const onEarlyRefresh = async () => { ctx.clock.advance(3); };
    const outcome = await ctx.sessions.refresh(refresh, { onEarlyRefresh }).then(() => 'refreshed', () => 'refused');
    // The store step after the callback reuses the time (and link) taken before it, so it judges the session alive at
    // 59 s and moves its idle deadline to 120 s. Before b759c79 the rotation-less path built the link after the
    // callback, at 62 s, and was refused.
    expect({ outcome, live: (await ctx.store.find(uid, seconds(ctx))) !== null }).toEqual({ outcome: 'refused', live: false });
  });

  it('refuses a refresh token of a logged-out session, at the cost of one signature and nothing else', async () => {
    const ctx = await stores.setup(kind, { accessExpiresIn: 600 });
    const { refresh } = await ctx.sessions.login({ namespace: NAMESPACE });
    await ctx.sessions.flushByToken(refresh);
    const sign = jest.spyOn(ctx.moduleRef.get(TokenCodec), 'sign');
    const relink = jest.spyOn(ctx.store, 'relink');
    await expect(ctx.sessions.refresh(refresh)).rejects.toBeInstanceOf(UnauthorizedError);
    // Signed before the store step, so that a payload that cannot be signed refuses a refresh with nothing changed
    // (test/tokens/token-codec.spec.ts); rotation signs first for the same reason and to keep the successors.
    expect(sign).toHaveBeenCalledTimes(1);
    expect(relink).not.toHaveBeenCalled();
    await expectGone(ctx, sessionIdOf(refresh));
  });

  it('cannot relink another session: a foreign or malformed id, or another session\'s rid, changes nothing', async () => {
    const ctx = await stores.setup(kind, { rotateRefreshTokens: true });
    const a = await ctx.sessions.login({ namespace: NAMESPACE });
    const b = await ctx.sessions.login({ namespace: NAMESPACE });
    const [uidA, ridB] = [sessionIdOf(a.refresh), decodePayload(b.refresh).rid as string];
    const before = await ctx.store.find(uidA, seconds(ctx));
    const link = { accessUid: 'attacker', accessExpiresAt: seconds(ctx) + 60, csrf: 'x', refreshedAt: seconds(ctx), idleExpiresAt: 0 };
    await expect(ctx.store.relinkByRefreshToken(uidA, ridB, link, seconds(ctx), false)).resolves.toEqual({ outcome: 'not-current' });
    await expect(ctx.store.relinkByRefreshToken(uidA, '', link, seconds(ctx), false)).resolves.toEqual({ outcome: 'not-current' });
    for (const uid of ['{x}', `${uidA}x`, '', '__proto__']) {
      await expect(ctx.store.relinkByRefreshToken(uid, ridB, link, seconds(ctx), false)).resolves.toEqual({ outcome: 'gone' });
    }
    expect(await ctx.store.find(uidA, seconds(ctx))).toEqual(before);
    if (kind === 'redis') expect((await stores.admin.keys('*s:*')).length).toBe(2);
  });

  describe('a session that rotated, refreshed by a module without rotation sharing the store (a rollback)', () => {
    async function twoModules(): Promise<{ rotating: Ctx; plain: Ctx }> {
      const clock = realTimeClock();
      const shared: JwtSessionsModuleOptions = kind === 'memory' ? { store: new MemoryTokenStore() } : {};
      const rotating = await stores.setup(kind, { rotateRefreshTokens: true, accessExpiresIn: 60, ...shared }, clock);
      const plain = await stores.setup(kind, { accessExpiresIn: 60, ...shared }, clock);
      return { rotating, plain };
    }

    it.each([['inside', 2], ['outside', 60]])('revokes the session on a retired refresh token %s the grace window', async (_where, after) => {
      const { rotating, plain } = await twoModules();
      const first = await rotating.sessions.login({ namespace: NAMESPACE });
      rotating.clock.advance(61);
      const second = await rotating.sessions.refresh(first.refresh);
      rotating.clock.advance(after);
      const events = record(plain);
      await expect(plain.sessions.refresh(first.refresh)).rejects.toMatchObject(REUSED);
      expect(events.map((event) => event.type)).toEqual(['refresh.reuse-detected', 'session.flushed']);
      await expect(plain.sessions.refresh(second.refresh as string)).rejects.toBeInstanceOf(UnauthorizedError);
      await expect(plain.store.find(sessionIdOf(first.refresh), seconds(plain))).resolves.toBeNull();
    });

    it('refreshes with the current one (no new refresh token), and still revokes on the retired one afterwards', async () => {
      const { rotating, plain } = await twoModules();
      const first = await rotating.sessions.login({ namespace: NAMESPACE });
      rotating.clock.advance(61);
      const second = await rotating.sessions.refresh(first.refresh);
      rotating.clock.advance(61);
      const relinked = await plain.sessions.refresh(second.refresh as string);
      expect(relinked).not.toHaveProperty('refresh');
      await expect(plain.sessions.authorizeAccess(relinked.access)).resolves.toBeDefined();
      await expect(plain.sessions.refresh(first.refresh)).rejects.toMatchObject(REUSED);
      await expect(plain.sessions.authorizeAccess(relinked.access)).rejects.toBeInstanceOf(UnauthorizedError);
    });
  });
});

describe('verified-token cache keyed by token, with per-token checks', () => {
  let ctx: Ctx;
  afterEach(async () => ctx?.close());

  it('answers a token cached under a route leeway only for that leeway: the module checks refuse it past exp', async () => {
    ctx = await setup({ accessExpiresIn: 60 });
    const { access } = await ctx.sessions.login({});
    await ctx.sessions.authorizeAccess(access);
    await ctx.sessions.authorizeAccess(access, { leeway: 30 });
    ctx.clock.advance(70);
    await expect(ctx.sessions.authorizeAccess(access, { leeway: 30 })).resolves.toBeDefined();
    await expect(ctx.sessions.authorizeAccess(access)).rejects.toBeInstanceOf(ExpiredError);
    await expect(ctx.sessions.authorizeAccess(access, {})).rejects.toBeInstanceOf(ExpiredError);
    await expect(ctx.sessions.authorizeAccess(access, { leeway: 9 })).rejects.toBeInstanceOf(ExpiredError);
    ctx.clock.advance(20);
    await expect(ctx.sessions.authorizeAccess(access, { leeway: 30 })).rejects.toBeInstanceOf(ExpiredError);
  });

  it('checks stricter claims afresh for a token cached under laxer ones, whatever the order and the number of check sets', async () => {
    ctx = await setup({});
    const { access } = await ctx.sessions.login({});
    for (let leeway = 1; leeway <= 9; leeway++) await ctx.sessions.authorizeAccess(access, { leeway });
    await expect(ctx.sessions.authorizeAccess(access, { audience: 'admin' })).rejects.toBeInstanceOf(ClaimsVerificationError);
    await expect(ctx.sessions.authorizeAccess(access, { leeway: 5, subject: 'root' })).rejects.toBeInstanceOf(ClaimsVerificationError);
    await expect(ctx.sessions.authorizeAccess(access, { issuer: ['a', 'b'] })).rejects.toBeInstanceOf(ClaimsVerificationError);
  });

  it('never answers a cached token for the other type: the typ header is checked afresh, not the store alone', async () => {
    ctx = await setup({});
    const codec = ctx.moduleRef.get(TokenCodec);
    const { access, refresh } = await ctx.sessions.login({});
    await codec.verify(refresh, 'refresh');
    await codec.verify(access, 'access');
    await codec.verify(access, 'access', { claims: { leeway: 5 } });
    // At the codec (the store would refuse the ids anyway): a type mix-up in the cache key would pass these.
    await expect(codec.verify(refresh, 'access')).rejects.toThrow('Token claim check failed: typ');
    await expect(codec.verify(access, 'refresh')).rejects.toThrow('Token claim check failed: typ');
    await expect(codec.verify(access, 'refresh', { claims: { leeway: 5 } })).rejects.toThrow('Token claim check failed: typ');
  });

  it('hands each caller its own payload: a change at the top is not seen by the next, nested values are read-only', async () => {
    ctx = await setup({});
    const { access } = await ctx.sessions.login({ payload: { user_id: 1, roles: ['user'], profile: { admin: false } } });
    const first = (await ctx.sessions.authorizeAccess(access)).payload as Record<string, unknown>;
    first.user_id = 2;
    first.ruid = 'other-session';
    expect(() => (first.roles as string[]).push('admin')).toThrow(TypeError);
    expect(() => { (first.profile as { admin: boolean }).admin = true; }).toThrow(TypeError);
    const second = (await ctx.sessions.authorizeAccess(access)).payload;
    expect(second).toMatchObject({ user_id: 1, roles: ['user'], profile: { admin: false }, ruid: decodePayload(access).ruid });
  });
});

describe('guard: per-route plan cache, CSRF and the session view', () => {
  /** One handler function, inherited by two controllers whose class metadata differ. */
  class BaseRoutes {
    @Get('claims')
    @AccessAuth()
    claims(@TokenPayload('user_id') userId: unknown) {
      return { userId };
    }

    @Get('class-rule')
    @UseGuards(JwtSessionsGuard)
    classRule() {
      return { open: true };
    }
  }

  @Controller('lax')
  class LaxController extends BaseRoutes {}

  @Controller('strict')
  @TokenClaims({ audience: 'admin' })
  @AccessAuth()
  class StrictController extends BaseRoutes {}

  @Controller('misc')
  class MiscController {
    @Get('access')
    @AccessAuth()
    read(@CurrentSession() current: AuthContext) {
      return { session: current.session, source: current.source };
    }

    @Post('access')
    @HttpCode(200)
    @AccessAuth()
    write() {
      return { ok: true };
    }
  }

  let app: INestApplication;
  let sessions: SessionService;
  let cookieName: string;
  afterEach(async () => app?.close());

  async function boot(): Promise<void> {
    const moduleRef = await Test.createTestingModule({
      imports: [JwtSessionsModule.forRoot({ signingKey: TEST_SIGNING_KEY })],
      controllers: [LaxController, StrictController, MiscController],
    }).overrideProvider(Clock).useValue(new ManualClock(Math.floor(Date.now() / 1000) * 1000)).compile();
    app = moduleRef.createNestApplication({ logger: false });
    // Method override as middleware does it: the route sees the new method, `originalMethod` keeps the wire one.
    app.use((req: { method: string; originalMethod?: string; headers: Record<string, string> }, _res: unknown, next: () => void) => {
      const override = req.headers['x-http-method-override'];
      if (override) [req.originalMethod, req.method] = [req.method, override];
      next();
    });
    await app.init();
    sessions = app.get(SessionService);
    cookieName = app.get(JwtSessionsConfig).cookies.access;
  }

  it('keeps one plan per controller class for an inherited handler: class claims of one never serve the other', async () => {
    await boot();
    const { access } = await sessions.login({ payload: { user_id: 5 } });
    const http = () => request(app.getHttpServer());
    // Lax first: its plan (no claims) must not be reused for the strict controller, and back again.
    await http().get('/lax/claims').set('Authorization', `Bearer ${access}`).expect(200, { userId: 5 });
    await http().get('/strict/claims').set('Authorization', `Bearer ${access}`).expect(401);
    await http().get('/lax/claims').set('Authorization', `Bearer ${access}`).expect(200);
    await http().get('/strict/claims').set('Authorization', `Bearer ${access}`).expect(401);
  });

  it('does not let an unruled controller\'s "no auth" plan open the same handler on a controller ruled at class level', async () => {
    await boot();
    const http = () => request(app.getHttpServer());
    await http().get('/lax/class-rule').expect(200, { open: true });
    await http().get('/strict/class-rule').expect(401);
  });

  it('asks a cookie-borne token for CSRF on unsafe methods, including behind a method override, never a header token', async () => {
    await boot();
    const { access, csrf } = await sessions.login({});
    const http = () => request(app.getHttpServer());
    const cookie = `${cookieName}=${access}`;
    await http().post('/misc/access').set('Cookie', cookie).expect(401);
    await http().post('/misc/access').set('Cookie', cookie).set('X-HTTP-Method-Override', 'GET').expect(401);
    await http().post('/misc/access').set('Cookie', cookie).set('X-CSRF-Token', csrf).expect(200);
    await http().get('/misc/access').set('Cookie', cookie).expect(200);
    await http().post('/misc/access').set('Authorization', `Bearer ${access}`).expect(200);
    // A header token never shields a cookie: an empty header falls through to the cookie, which then needs CSRF.
    await http().post('/misc/access').set('Authorization', '').set('Cookie', cookie).expect(401);
  });

  it('hands the app a session view without the CSRF secret, the refresh id or the rotation record', async () => {
    await boot();
    const { access } = await sessions.login({ namespace: NAMESPACE, userAgent: 'ua', ip: '10.0.0.1' });
    const response = await request(app.getHttpServer()).get('/misc/access').set('Authorization', `Bearer ${access}`).expect(200);
    expect(Object.keys(response.body.session).sort()).toEqual([
      'accessExpiresAt', 'accessUid', 'createdAt', 'expiresAt', 'idleExpiresAt', 'ip', 'namespace', 'refreshByAccessAllowed',
      'refreshedAt', 'uid', 'userAgent',
    ]);
    expect(response.body.session).toMatchObject({ uid: decodePayload(access).ruid, namespace: NAMESPACE, userAgent: 'ua', ip: '10.0.0.1' });
  });
});
