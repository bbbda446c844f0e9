/**
 * Typed session lifecycle events (issue 5), subscribed through Nest DI, on the memory store and on a real Redis:
 * session.created, session.refreshed, session.flushed (each reason), refresh.reuse-detected, refresh.early, and
 * csrf.failed over HTTP. Listeners never fail the operation and can unsubscribe.
 */
import { describe, expect, it, jest } from '@jest/globals';
import { Controller, Get, HttpCode, Inject, Injectable, Logger, Post, type INestApplication, type OnModuleInit } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import request from 'supertest';
import {
  AccessAuth, Clock, JwtSessionsModule, SessionEvents, SessionService, UnauthorizedError, type JwtSessionsModuleOptions,
  type SessionEvent, type SessionEventOf, type SessionTokens,
} from '../../lib/index.js';
import { bothStores, realTimeClock, STORE_KINDS, type StoreKind } from '../session/both-stores.js';
import { decodePayload, TEST_SIGNING_KEY } from '../support/setup.js';

const NAMESPACE = 'user-9';

/** What an app writes: a provider that subscribes when the module starts. */
@Injectable()
class SessionAudit implements OnModuleInit {
  readonly all: SessionEvent[] = [];
  readonly reuses: Array<SessionEventOf<'refresh.reuse-detected'>> = [];

  constructor(@Inject(SessionEvents) private readonly events: SessionEvents) {}

  onModuleInit(): void {
    this.events.on('*', (event) => void this.all.push(event));
    // The listener of one type gets that type's fields, typed.
    this.events.on('refresh.reuse-detected', (event) => void this.reuses.push({ ...event, presented: event.presented }));
  }

  of<T extends SessionEvent['type']>(type: T): Array<SessionEventOf<T>> {
    return this.all.filter((event): event is SessionEventOf<T> => event.type === type);
  }
}

const stores = bothStores();
const idOf = (tokens: Pick<SessionTokens, 'access'>) => decodePayload(tokens.access).ruid as string;

async function boot(kind: StoreKind, options: JwtSessionsModuleOptions = {}) {
  const clock = realTimeClock();
  const moduleRef: TestingModule = await Test.createTestingModule({
    imports: [JwtSessionsModule.forRoot({ signingKey: TEST_SIGNING_KEY, ...stores.storeOptions(kind), ...options })],
    providers: [SessionAudit],
  }).overrideProvider(Clock).useValue(clock).compile();
  await moduleRef.init();
  stores.closeAfter(moduleRef);
  return {
    clock,
    sessions: moduleRef.get(SessionService),
    events: moduleRef.get(SessionEvents),
    audit: moduleRef.get(SessionAudit),
  };
}

describe.each(STORE_KINDS)('session events on the %s store', (kind: StoreKind) => {
  it('reach a provider that subscribed through Nest DI: session.created, with the session and namespace', async () => {
    const { sessions, audit } = await boot(kind);
    const namespaced = await sessions.login({ namespace: NAMESPACE });
    const loose = await sessions.login();
    expect(audit.all).toEqual([
      { type: 'session.created', sessionId: idOf(namespaced), namespace: NAMESPACE },
      { type: 'session.created', sessionId: idOf(loose), namespace: null },
    ]);
  });

  it('fire after the operation took effect', async () => {
    const { sessions, events } = await boot(kind);
    const seen: Array<Promise<number>> = [];
    events.on('session.created', ({ namespace }) => void seen.push(sessions.listSessions(namespace as string).then((list) => list.length)));
    events.on('session.flushed', ({ namespace }) => void seen.push(sessions.listSessions(namespace as string).then((list) => list.length)));
    await sessions.login({ namespace: NAMESPACE });
    await sessions.flushNamespaced(NAMESPACE);
    expect(await Promise.all(seen)).toEqual([1, 0]);
  });

  describe('session.refreshed', () => {
    it('says rotated: false, replayed: false without rotation', async () => {
      const { sessions, audit, clock } = await boot(kind);
      const tokens = await sessions.login({ namespace: NAMESPACE, refreshByAccessAllowed: true });
      clock.advance(3600);
      const refreshed = await sessions.refresh(tokens.refresh);
      await sessions.refreshByAccess(refreshed.access);
      expect(audit.of('session.refreshed')).toEqual([
        { type: 'session.refreshed', sessionId: idOf(tokens), namespace: NAMESPACE, rotated: false, replayed: false },
        { type: 'session.refreshed', sessionId: idOf(tokens), namespace: NAMESPACE, rotated: false, replayed: false },
      ]);
    });

    it('says rotated: true under rotation, and replayed: true on a repeat within the grace window', async () => {
      const { sessions, audit } = await boot(kind, { rotateRefreshTokens: true });
      const tokens = await sessions.login({ namespace: NAMESPACE, refreshByAccessAllowed: true });
      const next = await sessions.refresh(tokens.refresh);
      await sessions.refresh(tokens.refresh);
      await sessions.refreshByAccess(next.access);
      await sessions.refreshByAccess(next.access);
      const flags = audit.of('session.refreshed').map(({ sessionId, rotated, replayed }) => ({ sessionId, rotated, replayed }));
      const sessionId = idOf(tokens);
      expect(flags).toEqual([
        { sessionId, rotated: true, replayed: false },
        { sessionId, rotated: true, replayed: true },
        { sessionId, rotated: true, replayed: false },
        { sessionId, rotated: true, replayed: true },
      ]);
    });

    it('is not emitted for a refused refresh', async () => {
      const { sessions, audit } = await boot(kind);
      const tokens = await sessions.login();
      await expect(sessions.refresh(tokens.refresh, { onEarlyRefresh: () => { throw new UnauthorizedError('no'); } })).rejects.toThrow('no');
      await expect(sessions.refresh(tokens.access)).rejects.toBeInstanceOf(UnauthorizedError);
      expect(audit.of('session.refreshed')).toEqual([]);
    });
  });

  describe('session.flushed', () => {
    it('names the reason: logout, revoked, namespace, others, all', async () => {
      const { sessions, audit } = await boot(kind);
      const byToken = await sessions.login({ namespace: NAMESPACE });
      const byPayload = await sessions.login({ namespace: NAMESPACE });
      const byUid = await sessions.login({ namespace: NAMESPACE });
      const revoked = await sessions.login({ namespace: NAMESPACE });
      const mine = await sessions.login({ namespace: 'user-2' });
      await sessions.login({ namespace: 'user-2' });
      await sessions.login({ namespace: 'user-3' });
      await sessions.login({ namespace: 'user-3' });
      await sessions.login({ namespace: 'user-4' });
      await sessions.login();

      expect(await sessions.flushByToken(byToken.refresh)).toBe(1);
      expect(await sessions.flushByAccessPayload((await sessions.authorizeAccess(byPayload.access)).payload)).toBe(1);
      expect(await sessions.flushByUid(idOf(byUid))).toBe(1);
      expect(await sessions.revokeSession(NAMESPACE, idOf(revoked))).toBe(1);
      expect(await sessions.revokeOtherSessions('user-2', idOf(mine))).toBe(1);
      expect(await sessions.flushNamespaced('user-3')).toBe(2);
      expect(await sessions.flushAll()).toBe(3);

      const flushed = audit.of('session.flushed').map(({ sessionId, namespace, count, reason }) => ({ sessionId, namespace, count, reason }));
      // A logout or a flush by uid names the session; its namespace is not looked up (null).
      expect(flushed).toEqual([
        { sessionId: idOf(byToken), namespace: null, count: 1, reason: 'logout' },
        { sessionId: idOf(byPayload), namespace: null, count: 1, reason: 'logout' },
        { sessionId: idOf(byUid), namespace: null, count: 1, reason: 'revoked' },
        { sessionId: idOf(revoked), namespace: NAMESPACE, count: 1, reason: 'revoked' },
        { sessionId: null, namespace: 'user-2', count: 1, reason: 'others' },
        { sessionId: null, namespace: 'user-3', count: 2, reason: 'namespace' },
        { sessionId: null, namespace: null, count: 3, reason: 'all' },
      ]);
    });

    it('names evicted sessions, and a session revoked for reuse', async () => {
      const { sessions, audit, clock } = await boot(kind, { maxSessionsPerNamespace: 1, rotateRefreshTokens: true });
      const first = await sessions.login({ namespace: NAMESPACE });
      clock.advance(1);
      const second = await sessions.login({ namespace: NAMESPACE });
      await sessions.refresh(second.refresh);
      clock.advance(10);
      await expect(sessions.refresh(second.refresh)).rejects.toBeInstanceOf(UnauthorizedError);
      expect(audit.of('session.flushed')).toEqual([
        { type: 'session.flushed', sessionId: idOf(first), namespace: NAMESPACE, count: 1, reason: 'evicted' },
        { type: 'session.flushed', sessionId: idOf(second), namespace: NAMESPACE, count: 1, reason: 'reuse' },
      ]);
    });

    it('is not emitted when nothing was flushed', async () => {
      const { sessions, audit } = await boot(kind);
      const tokens = await sessions.login({ namespace: NAMESPACE });
      await sessions.flushByToken(tokens.refresh);
      audit.all.length = 0;
      expect(await sessions.flushByToken(tokens.refresh)).toBe(0);
      expect(await sessions.flushByUid(idOf(tokens))).toBe(0);
      expect(await sessions.flushNamespaced(NAMESPACE)).toBe(0);
      expect(await sessions.revokeSession(NAMESPACE, idOf(tokens))).toBe(0);
      expect(await sessions.flushAll()).toBe(0);
      expect(audit.all).toEqual([]);
    });
  });

  describe('refresh.reuse-detected', () => {
    it('names the session, its namespace and the kind of token presented (refresh), then the flush', async () => {
      const { sessions, audit, clock } = await boot(kind, { rotateRefreshTokens: true });
      const tokens = await sessions.login({ namespace: NAMESPACE });
      await sessions.refresh(tokens.refresh);
      clock.advance(6);
      await expect(sessions.refresh(tokens.refresh)).rejects.toBeInstanceOf(UnauthorizedError);
      expect(audit.reuses).toEqual([{ type: 'refresh.reuse-detected', sessionId: idOf(tokens), namespace: NAMESPACE, presented: 'refresh' }]);
      expect(audit.all.slice(-2).map((event) => event.type)).toEqual(['refresh.reuse-detected', 'session.flushed']);
    });

    it('says presented: access for an old access token on refresh by access, and null for a session without namespace', async () => {
      const { sessions, audit, clock } = await boot(kind, { rotateRefreshTokens: true });
      const tokens = await sessions.login({ refreshByAccessAllowed: true });
      await sessions.refreshByAccess(tokens.access);
      clock.advance(6);
      await expect(sessions.refreshByAccess(tokens.access)).rejects.toBeInstanceOf(UnauthorizedError);
      expect(audit.reuses).toEqual([{ type: 'refresh.reuse-detected', sessionId: idOf(tokens), namespace: null, presented: 'access' }]);
    });

    it('is emitted when the store itself finds the reuse (concurrent repeats without a grace window)', async () => {
      const { sessions, audit } = await boot(kind, { rotateRefreshTokens: true, refreshGracePeriod: 0 });
      const tokens = await sessions.login({ namespace: NAMESPACE });
      await Promise.allSettled(Array.from({ length: 20 }, () => sessions.refresh(tokens.refresh)));
      expect(audit.reuses.length).toBeGreaterThanOrEqual(1);
      for (const event of audit.reuses) expect(event).toEqual({ type: 'refresh.reuse-detected', sessionId: idOf(tokens), namespace: NAMESPACE, presented: 'refresh' });
    });

    it('is never emitted without rotation', async () => {
      const { sessions, audit, clock } = await boot(kind);
      const tokens = await sessions.login();
      for (let i = 0; i < 3; i++) {
        clock.advance(3600);
        await sessions.refresh(tokens.refresh);
      }
      expect(audit.reuses).toEqual([]);
    });
  });

  describe('refresh.early', () => {
    it.each([false, true])('fires while the access token is live, before onEarlyRefresh decides (rotateRefreshTokens: %s)', async (rotateRefreshTokens) => {
      const { sessions, audit, events, clock } = await boot(kind, { rotateRefreshTokens });
      const tokens = await sessions.login({ namespace: NAMESPACE, refreshByAccessAllowed: true });
      const order: string[] = [];
      events.on('refresh.early', () => void order.push('event'));
      await expect(sessions.refresh(tokens.refresh, { onEarlyRefresh: () => { order.push('callback'); throw new UnauthorizedError('no'); } }))
        .rejects.toThrow('no');
      expect(order).toEqual(['event', 'callback']);
      const refreshed = await sessions.refresh(tokens.refresh);
      const byAccess = await sessions.refreshByAccess(refreshed.access);
      expect(audit.of('refresh.early')).toEqual(Array.from({ length: 3 }, () => ({ type: 'refresh.early', sessionId: idOf(tokens), namespace: NAMESPACE })));
      // Once the access token expired, a refresh is not early.
      clock.advance(3600);
      const later = await sessions.refresh(byAccess.refresh ?? tokens.refresh);
      expect(audit.of('refresh.early')).toHaveLength(3);
      // Nor after the namespace's access tokens were flushed.
      await sessions.flushNamespacedAccessTokens(NAMESPACE);
      await sessions.refresh(later.refresh ?? tokens.refresh);
      expect(audit.of('refresh.early')).toHaveLength(3);
    });

    it('does not fire on a replay within the grace window', async () => {
      const { sessions, audit } = await boot(kind, { rotateRefreshTokens: true });
      const tokens = await sessions.login();
      await sessions.refresh(tokens.refresh);
      expect(audit.of('refresh.early')).toHaveLength(1);
      await sessions.refresh(tokens.refresh);
      expect(audit.of('refresh.early')).toHaveLength(1);
    });
  });

  it('hands every event, in order, to a \'*\' listener', async () => {
    const { sessions, audit } = await boot(kind, { rotateRefreshTokens: true });
    const tokens = await sessions.login({ namespace: NAMESPACE });
    const next = await sessions.refresh(tokens.refresh);
    await sessions.flushByToken(next.refresh as string);
    expect(audit.all.map((event) => event.type)).toEqual(['session.created', 'refresh.early', 'session.refreshed', 'session.flushed']);
  });
});

describe('SessionEvents listeners', () => {
  it('cannot fail the operation by throwing or rejecting; the others still run, and the failure is logged', async () => {
    const errors = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const unhandled = jest.fn();
    process.on('unhandledRejection', unhandled);
    try {
      const { sessions, events, audit } = await boot('memory', { rotateRefreshTokens: true });
      events.on('session.created', () => { throw new Error('listener bug'); });
      events.on('*', async () => { throw new Error('async listener bug'); });
      events.on('session.refreshed', () => Promise.reject(new Error('rejected')));
      const tokens = await sessions.login({ namespace: NAMESPACE });
      const next = await sessions.refresh(tokens.refresh);
      await expect(sessions.authorizeAccess(next.access)).resolves.toBeDefined();
      expect(await sessions.flushByToken(next.refresh as string)).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(audit.all.map((event) => event.type)).toEqual(['session.created', 'refresh.early', 'session.refreshed', 'session.flushed']);
      const messages = errors.mock.calls.map((call) => String(call[0]));
      expect(messages).toContainEqual(expect.stringContaining('session.created listener failed: listener bug'));
      expect(messages).toContainEqual(expect.stringContaining('session.refreshed listener failed: rejected'));
      expect(messages.filter((message) => message.includes('async listener bug'))).toHaveLength(4);
      expect(unhandled).not.toHaveBeenCalled();
    } finally {
      process.off('unhandledRejection', unhandled);
      errors.mockRestore();
    }
  });

  it('stop when unsubscribed; the others keep theirs, and unsubscribing twice is harmless', async () => {
    const { sessions, events } = await boot('memory');
    const stopped = jest.fn();
    const kept = jest.fn();
    const stop = events.on('session.created', stopped);
    events.on('session.created', kept);
    await sessions.login();
    stop();
    stop();
    await sessions.login();
    expect(stopped).toHaveBeenCalledTimes(1);
    expect(kept).toHaveBeenCalledTimes(2);
  });

  it('get frozen events that carry no token, CSRF token or payload', async () => {
    const { sessions, events, audit } = await boot('memory', { rotateRefreshTokens: true });
    const received: SessionEvent[] = [];
    events.on('*', (event) => {
      expect(Object.isFrozen(event)).toBe(true);
      expect(() => { (event as { type: string }).type = 'session.flushed'; }).toThrow(TypeError);
      received.push(event);
    });
    const tokens = await sessions.login({ payload: { email: 'secret@example.com' }, namespace: NAMESPACE, refreshByAccessAllowed: true });
    const next = await sessions.refresh(tokens.refresh);
    await sessions.refreshByAccess(next.access);
    await sessions.flushByToken(tokens.refresh);
    expect(received).toHaveLength(audit.all.length);
    const serialized = JSON.stringify(received);
    for (const secret of [tokens.access, tokens.refresh, tokens.csrf, next.access, next.refresh as string, 'secret@example.com']) {
      expect(serialized).not.toContain(secret);
    }
  });

  it('cost nothing when nobody listens: an operation without listeners still works', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [JwtSessionsModule.forRoot({ signingKey: TEST_SIGNING_KEY })] }).compile();
    stores.closeAfter(moduleRef);
    const sessions = moduleRef.get(SessionService);
    const tokens = await sessions.login();
    await expect(sessions.refresh(tokens.refresh)).resolves.toBeDefined();
  });
});

describe('csrf.failed over HTTP', () => {
  @Controller()
  class AccountController {
    constructor(@Inject(SessionService) private readonly sessions: SessionService) {}

    @Post('login')
    @HttpCode(200)
    login() {
      return this.sessions.login({ payload: { user_id: 9 }, namespace: NAMESPACE });
    }

    @Post('account')
    @HttpCode(200)
    @AccessAuth()
    update() {
      return { ok: true };
    }

    @Get('account')
    @AccessAuth()
    show() {
      return { ok: true };
    }
  }

  async function bootApp(options: JwtSessionsModuleOptions = {}) {
    const moduleRef = await Test.createTestingModule({
      imports: [JwtSessionsModule.forRoot({ signingKey: TEST_SIGNING_KEY, ...options })],
      controllers: [AccountController],
      providers: [SessionAudit],
    }).compile();
    const app: INestApplication = moduleRef.createNestApplication({ logger: false });
    await app.init();
    stores.closeAfter(app);
    const http = () => request(app.getHttpServer());
    const tokens = (await http().post('/login').expect(200)).body as { access: string; refresh: string; csrf: string };
    return { http, tokens, audit: moduleRef.get(SessionAudit), sessions: moduleRef.get(SessionService) };
  }

  it('is emitted when a cookie-borne access token comes with a wrong or missing CSRF token', async () => {
    const { http, tokens, audit } = await bootApp();
    const cookie = `jwt_access=${tokens.access}`;
    await http().post('/account').set('Cookie', cookie).set('X-CSRF-Token', 'wrong').expect(401);
    await http().post('/account').set('Cookie', cookie).expect(401);
    const failed = { type: 'csrf.failed', sessionId: idOf(tokens), namespace: NAMESPACE };
    expect(audit.of('csrf.failed')).toEqual([failed, failed]);
  });

  it('is not emitted for a valid CSRF token, a safe method, or a header-borne token', async () => {
    const { http, tokens, audit } = await bootApp();
    const cookie = `jwt_access=${tokens.access}`;
    await http().post('/account').set('Cookie', cookie).set('X-CSRF-Token', tokens.csrf).expect(200, { ok: true });
    await http().get('/account').set('Cookie', cookie).expect(200);
    await http().post('/account').set('Authorization', `Bearer ${tokens.access}`).set('X-CSRF-Token', 'wrong').expect(200);
    expect(audit.of('csrf.failed')).toEqual([]);
  });

  it('is not emitted for a token without a live session (the request is refused before the CSRF check)', async () => {
    const { http, tokens, audit, sessions } = await bootApp();
    await sessions.flushNamespaced(NAMESPACE);
    await http().post('/account').set('Cookie', `jwt_access=${tokens.access}`).set('X-CSRF-Token', 'wrong').expect(401);
    expect(audit.of('csrf.failed')).toEqual([]);
  });

  it('is emitted when rejectCrossSite refuses a cross-site request', async () => {
    const { http, tokens, audit } = await bootApp({ cookieOptions: { rejectCrossSite: true } });
    await http().post('/account').set('Cookie', `jwt_access=${tokens.access}`).set('X-CSRF-Token', tokens.csrf).set('Sec-Fetch-Site', 'cross-site').expect(401);
    expect(audit.of('csrf.failed')).toEqual([{ type: 'csrf.failed', sessionId: idOf(tokens), namespace: NAMESPACE }]);
  });
});
