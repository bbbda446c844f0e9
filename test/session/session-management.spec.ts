/**
 * Session management (issue 5), on the memory store and on a real Redis: what a session records (created at, last
 * refreshed at, user agent, IP), listSessions with the current session marked, revokeSession, revokeOtherSessions,
 * and the optional cap on sessions per namespace that evicts the oldest.
 */
import { describe, expect, it } from '@jest/globals';
import {
  InvalidPayloadError, MalconfiguredError, SessionEvents, UnauthorizedError, type JwtSessionsModuleOptions, type SessionEvent,
  type SessionTokens,
} from '../../lib/index.js';
import { decodePayload, setup } from '../support/setup.js';
import { bothStores, STORE_KINDS, type Ctx, type StoreKind } from './both-stores.js';

const NAMESPACE = 'user-1';
const SAFARI = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 Version/18.0 Safari/604.1';
const INFO_KEYS = [
  'access_expires_at', 'created_at', 'current', 'expires_at', 'id', 'idle_expires_at', 'ip', 'namespace',
  'refresh_by_access_allowed', 'refreshed_at', 'user_agent',
];

const stores = bothStores();

const idOf = (tokens: Pick<SessionTokens, 'access'>) => decodePayload(tokens.access).ruid as string;
const at = (seconds: number) => new Date(seconds * 1000);

describe.each(STORE_KINDS)('session management on the %s store', (kind: StoreKind) => {
  let ctx: Ctx;
  let start: number;
  let events: SessionEvent[];

  async function open(options: JwtSessionsModuleOptions = {}) {
    ctx = await stores.setup(kind, options);
    start = ctx.clock.now() / 1000;
    events = [];
    ctx.moduleRef.get(SessionEvents).on('*', (event) => void events.push(event));
    return ctx;
  }

  const login = (options: Parameters<Ctx['sessions']['login']>[0] = {}) => ctx.sessions.login({ payload: { user_id: 1 }, namespace: NAMESPACE, ...options });
  const listedIds = async (namespace = NAMESPACE) => (await ctx.sessions.listSessions(namespace)).map((session) => session.id);

  describe('what a session records', () => {
    it('lists created_at, refreshed_at, expiries, user agent and IP, and nothing secret', async () => {
      await open({ idleTimeout: 7200, rotateRefreshTokens: true });
      const tokens = await login({ userAgent: SAFARI, ip: '203.0.113.7', refreshByAccessAllowed: true });
      const [listed] = await ctx.sessions.listSessions(NAMESPACE);
      expect(Object.keys(listed).sort()).toEqual(INFO_KEYS);
      expect(listed).toEqual({
        id: idOf(tokens),
        namespace: NAMESPACE,
        current: false,
        created_at: at(start),
        refreshed_at: at(start),
        expires_at: tokens.refresh_expires_at,
        idle_expires_at: at(start + 7200),
        access_expires_at: tokens.access_expires_at,
        refresh_by_access_allowed: true,
        user_agent: SAFARI,
        ip: '203.0.113.7',
      });
      const serialized = JSON.stringify(listed);
      for (const secret of [tokens.access, tokens.refresh, decodePayload(tokens.access).uid as string, decodePayload(tokens.refresh).rid as string]) {
        expect(serialized).not.toContain(secret);
      }
    });

    it('lists null user agent and IP when the app passed none (or empty strings)', async () => {
      await open();
      await login();
      await login({ userAgent: '', ip: '' });
      for (const listed of await ctx.sessions.listSessions(NAMESPACE)) {
        expect(listed).toMatchObject({ user_agent: null, ip: null, idle_expires_at: null, refresh_by_access_allowed: false });
      }
    });

    it('keeps any well-formed user agent as given (unicode, IPv6), cut to 512 characters', async () => {
      await open();
      await login({ userAgent: 'Агент/1.0 (☃; 日本語) 🦊'.padEnd(600, 'x'), ip: '2001:db8::1' });
      const [listed] = await ctx.sessions.listSessions(NAMESPACE);
      expect(listed.user_agent).toBe('Агент/1.0 (☃; 日本語) 🦊'.padEnd(512, 'x'));
      expect(listed.ip).toBe('2001:db8::1');
    });

    it('refuses a user agent or IP that is not a well-formed string, and stores nothing', async () => {
      await open();
      for (const bad of [{ userAgent: 42 }, { ip: { toString: () => '1.2.3.4' } }, { userAgent: 'a\uD800b' }]) {
        await expect(login(bad as Parameters<Ctx['sessions']['login']>[0])).rejects.toBeInstanceOf(InvalidPayloadError);
      }
      expect(await ctx.sessions.listSessions(NAMESPACE)).toEqual([]);
    });

    it.each([false, true])('moves refreshed_at (not created_at) on each refresh, rotateRefreshTokens: %s', async (rotateRefreshTokens) => {
      await open({ rotateRefreshTokens });
      const tokens = await login({ userAgent: SAFARI, refreshByAccessAllowed: true });
      ctx.clock.advance(100);
      const refreshed = await ctx.sessions.refresh(tokens.refresh);
      let [listed] = await ctx.sessions.listSessions(NAMESPACE);
      expect(listed).toMatchObject({ created_at: at(start), refreshed_at: at(start + 100), user_agent: SAFARI });
      expect(listed.access_expires_at).toEqual(refreshed.access_expires_at);
      ctx.clock.advance(50);
      await ctx.sessions.refreshByAccess(refreshed.access);
      [listed] = await ctx.sessions.listSessions(NAMESPACE);
      expect(listed).toMatchObject({ created_at: at(start), refreshed_at: at(start + 150), user_agent: SAFARI });
    });

    it('lists access_expires_at null once the namespace\'s access tokens were flushed', async () => {
      await open();
      await login();
      await ctx.sessions.flushNamespacedAccessTokens(NAMESPACE);
      const [listed] = await ctx.sessions.listSessions(NAMESPACE);
      expect(listed.access_expires_at).toBeNull();
    });
  });

  describe('listSessions', () => {
    it('lists oldest first, marks only the current session, and only the namespace\'s sessions', async () => {
      await open();
      const first = await login({ userAgent: 'first' });
      ctx.clock.advance(10);
      const second = await login({ userAgent: 'second' });
      ctx.clock.advance(10);
      const third = await login({ userAgent: 'third' });
      await ctx.sessions.login({ namespace: 'someone-else' });
      await ctx.sessions.login();
      // A refresh of the oldest does not reorder: the order is by creation.
      await ctx.sessions.refresh(first.refresh);
      const listed = await ctx.sessions.listSessions(NAMESPACE, idOf(second));
      expect(listed.map((session) => session.user_agent)).toEqual(['first', 'second', 'third']);
      expect(listed.map((session) => session.id)).toEqual([first, second, third].map(idOf));
      expect(listed.map((session) => session.current)).toEqual([false, true, false]);
      expect(listed.map((session) => session.created_at)).toEqual([at(start), at(start + 10), at(start + 20)]);
      // Without a current id (or with one of another namespace), none is marked.
      expect((await ctx.sessions.listSessions(NAMESPACE)).some((session) => session.current)).toBe(false);
      expect((await ctx.sessions.listSessions(NAMESPACE, 'not-a-session')).some((session) => session.current)).toBe(false);
    });

    it('lists sessions created in the same second in a stable order', async () => {
      await open();
      for (let i = 0; i < 5; i++) await login();
      const once = await listedIds();
      expect(once).toHaveLength(5);
      expect(await listedIds()).toEqual(once);
      expect(once).toEqual([...once].sort());
    });

    it('lists an unknown namespace as empty, and refuses an empty namespace', async () => {
      await open();
      expect(await ctx.sessions.listSessions('nobody')).toEqual([]);
      await expect(ctx.sessions.listSessions('')).rejects.toBeInstanceOf(InvalidPayloadError);
    });
  });

  describe('revokeSession', () => {
    it('ends that device only, answers 1, and emits session.flushed (revoked)', async () => {
      await open({ rotateRefreshTokens: true });
      const phone = await login({ userAgent: 'phone' });
      const laptop = await login({ userAgent: 'laptop' });
      expect(await ctx.sessions.revokeSession(NAMESPACE, idOf(phone))).toBe(1);
      await expect(ctx.sessions.authorizeAccess(phone.access)).rejects.toBeInstanceOf(UnauthorizedError);
      await expect(ctx.sessions.refresh(phone.refresh)).rejects.toBeInstanceOf(UnauthorizedError);
      await expect(ctx.sessions.authorizeAccess(laptop.access)).resolves.toBeDefined();
      await expect(ctx.sessions.refresh(laptop.refresh)).resolves.toBeDefined();
      expect(await listedIds()).toEqual([idOf(laptop)]);
      expect(events).toContainEqual({ type: 'session.flushed', sessionId: idOf(phone), namespace: NAMESPACE, count: 1, reason: 'revoked' });
      // Again: nothing left to revoke.
      expect(await ctx.sessions.revokeSession(NAMESPACE, idOf(phone))).toBe(0);
    });

    it('answers 0 and ends nothing for an id of another namespace, of no namespace, unknown or malformed', async () => {
      await open();
      const mine = await login();
      const theirs = await ctx.sessions.login({ namespace: 'user-2' });
      const loose = await ctx.sessions.login();
      const flushedBefore = events.filter((event) => event.type === 'session.flushed').length;
      for (const id of [idOf(theirs), idOf(loose), idOf(mine).replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')), 'nope', '', 42 as unknown as string]) {
        expect(await ctx.sessions.revokeSession(NAMESPACE, id)).toBe(0);
      }
      expect(await ctx.sessions.revokeSession('user-2', idOf(mine))).toBe(0);
      for (const tokens of [mine, theirs, loose]) await expect(ctx.sessions.authorizeAccess(tokens.access)).resolves.toBeDefined();
      expect(events.filter((event) => event.type === 'session.flushed')).toHaveLength(flushedBefore);
    });
  });

  describe('revokeOtherSessions', () => {
    it('ends every other session of the namespace, keeps the caller\'s and other namespaces\'', async () => {
      await open();
      const mine = await login();
      const others = [await login(), await login(), await login()];
      const theirs = await ctx.sessions.login({ namespace: 'user-2' });
      expect(await ctx.sessions.revokeOtherSessions(NAMESPACE, idOf(mine))).toBe(3);
      await expect(ctx.sessions.authorizeAccess(mine.access)).resolves.toBeDefined();
      await expect(ctx.sessions.refresh(mine.refresh)).resolves.toBeDefined();
      for (const tokens of others) {
        await expect(ctx.sessions.authorizeAccess(tokens.access)).rejects.toBeInstanceOf(UnauthorizedError);
        await expect(ctx.sessions.authorizeRefresh(tokens.refresh)).rejects.toBeInstanceOf(UnauthorizedError);
      }
      await expect(ctx.sessions.authorizeAccess(theirs.access)).resolves.toBeDefined();
      expect(await listedIds()).toEqual([idOf(mine)]);
      expect(events).toContainEqual({ type: 'session.flushed', sessionId: null, namespace: NAMESPACE, count: 3, reason: 'others' });
    });

    it('answers 0 (and emits nothing) when the caller is alone', async () => {
      await open();
      const mine = await login();
      expect(await ctx.sessions.revokeOtherSessions(NAMESPACE, idOf(mine))).toBe(0);
      await expect(ctx.sessions.authorizeAccess(mine.access)).resolves.toBeDefined();
      expect(events.filter((event) => event.type === 'session.flushed')).toEqual([]);
    });
  });

  describe('maxSessionsPerNamespace', () => {
    it('evicts the oldest session at a login beyond the cap, and emits session.flushed (evicted)', async () => {
      await open({ maxSessionsPerNamespace: 3 });
      const logins: SessionTokens[] = [];
      for (let i = 0; i < 3; i++) {
        logins.push(await login({ userAgent: `device ${i}` }));
        ctx.clock.advance(1);
      }
      // Refreshing the oldest does not save it: the cap goes by creation.
      await ctx.sessions.refresh(logins[0].refresh);
      expect(events.some((event) => event.type === 'session.flushed')).toBe(false);
      logins.push(await login({ userAgent: 'device 3' }));
      expect(await listedIds()).toEqual(logins.slice(1).map(idOf));
      await expect(ctx.sessions.authorizeAccess(logins[0].access)).rejects.toBeInstanceOf(UnauthorizedError);
      await expect(ctx.sessions.authorizeRefresh(logins[0].refresh)).rejects.toBeInstanceOf(UnauthorizedError);
      expect(events.filter((event) => event.type === 'session.flushed')).toEqual([
        { type: 'session.flushed', sessionId: idOf(logins[0]), namespace: NAMESPACE, count: 1, reason: 'evicted' },
      ]);
      // The created event comes first, then the eviction it caused.
      expect(events.slice(-2).map((event) => event.type)).toEqual(['session.created', 'session.flushed']);
      ctx.clock.advance(1);
      logins.push(await login());
      expect(await listedIds()).toEqual(logins.slice(2).map(idOf));
    });

    it('counts only the namespace\'s live sessions: other namespaces, no namespace and expired sessions do not count', async () => {
      await open({ maxSessionsPerNamespace: 2 });
      const shortLived = await login({ refreshExpiresIn: 10 });
      for (let i = 0; i < 3; i++) await ctx.sessions.login({ namespace: 'user-2' });
      for (let i = 0; i < 3; i++) await ctx.sessions.login();
      ctx.clock.advance(1);
      const kept = await login();
      ctx.clock.advance(20);
      const newest = await login();
      expect(await listedIds()).toEqual([kept, newest].map(idOf));
      expect(await listedIds('user-2')).toHaveLength(2);
      expect(events.filter((event) => event.type === 'session.flushed' && event.namespace === NAMESPACE)).toEqual([]);
      await expect(ctx.sessions.authorizeAccess(shortLived.access)).rejects.toBeInstanceOf(UnauthorizedError);
    });

    it('with a cap of 1, each login ends the previous session of the namespace', async () => {
      await open({ maxSessionsPerNamespace: 1 });
      const first = await login();
      ctx.clock.advance(1);
      const second = await login();
      await expect(ctx.sessions.authorizeAccess(first.access)).rejects.toBeInstanceOf(UnauthorizedError);
      await expect(ctx.sessions.authorizeAccess(second.access)).resolves.toBeDefined();
      expect(await listedIds()).toEqual([idOf(second)]);
    });

    it('evicts as many as needed when several logins land at once', async () => {
      await open({ maxSessionsPerNamespace: 3 });
      await Promise.all(Array.from({ length: 12 }, () => login()));
      expect(await listedIds()).toHaveLength(3);
      expect(events.filter((event) => event.type === 'session.flushed' && event.reason === 'evicted')).toHaveLength(9);
    });
  });
});

describe('maxSessionsPerNamespace option', () => {
  it('refuses 0, negative, fractional and over 100 000', async () => {
    for (const maxSessionsPerNamespace of [0, -1, 2.5, 100_001]) {
      const error = await setup({ maxSessionsPerNamespace }).then(() => null, (caught: unknown) => caught);
      expect(error).toBeInstanceOf(MalconfiguredError);
      expect((error as Error).message).toMatch(/maxSessionsPerNamespace/);
    }
  });

  it('has no cap by default', async () => {
    const ctx = await setup();
    expect(ctx.config.policy.maxSessionsPerNamespace).toBe(0);
    for (let i = 0; i < 20; i++) await ctx.sessions.login({ namespace: NAMESPACE });
    expect(await ctx.sessions.listSessions(NAMESPACE)).toHaveLength(20);
    await ctx.close();
  });
});
