import type { StoredSession, TokenStore } from '../../lib/index.js';

const NOW = 1_800_000_000;

/** A store under test, and how to release it. */
export interface StoreUnderTest {
  store: TokenStore;
  cleanup?: () => Promise<void>;
}

/**
 * The behaviour every TokenStore must show, run against each implementation (memory, Redis, Redis Cluster).
 * Times are explicit `now` arguments: no clock, no sleeps.
 */
export function describeTokenStoreContract(name: string, make: () => Promise<StoreUnderTest>): void {
  describe(`TokenStore contract: ${name}`, () => {
    let subject: StoreUnderTest;
    let store: TokenStore;

    beforeEach(async () => {
      subject = await make();
      store = subject.store;
    });

    afterEach(async () => {
      await subject.cleanup?.();
    });

    function session(overrides: Partial<StoredSession> = {}): StoredSession {
      const namespace = overrides.namespace === undefined ? null : overrides.namespace;
      return {
        uid: store.createSessionId(namespace),
        namespace,
        csrf: Buffer.alloc(32, 7).toString('base64'),
        accessUid: `access-${Math.random()}`,
        accessExpiresAt: NOW + 60,
        expiresAt: NOW + 600,
        createdAt: NOW,
        refreshByAccessAllowed: false,
        refreshedAt: NOW,
        idleExpiresAt: 0,
        refreshUid: '',
        rotation: null,
        userAgent: null,
        ip: null,
        ...overrides,
      };
    }

    it('creates unique session ids, also within one namespace', () => {
      const ids = new Set([store.createSessionId(null), store.createSessionId(null), store.createSessionId('a'), store.createSessionId('a')]);
      expect(ids.size).toBe(4);
    });

    it('finds what it created, field for field, and nothing for an unknown id', async () => {
      const created = session({ namespace: 'ns-find', refreshByAccessAllowed: true });
      await store.create(created, NOW);
      expect(await store.find(created.uid, NOW)).toEqual(created);
      expect(await store.find(store.createSessionId(null), NOW)).toBeNull();
      expect(await store.find('not-an-id', NOW)).toBeNull();
    });

    it('hands out copies: changing an answer changes nothing stored', async () => {
      const created = session();
      await store.create(created, NOW);
      const found = (await store.find(created.uid, NOW)) as StoredSession;
      found.accessUid = 'tampered';
      created.accessUid = 'tampered too';
      expect((await store.find(created.uid, NOW))?.accessUid).not.toMatch(/tampered/);
    });

    it('treats a session as gone from the second it expires, for every method', async () => {
      const expiring = session({ namespace: 'ns-expiry', expiresAt: NOW + 10 });
      await store.create(expiring, NOW);
      expect(await store.find(expiring.uid, NOW + 9)).not.toBeNull();
      expect(await store.find(expiring.uid, NOW + 10)).toBeNull();
      expect(await store.relink(expiring.uid, expiring.accessUid, { accessUid: 'x', accessExpiresAt: NOW + 99, csrf: expiring.csrf, refreshedAt: NOW, idleExpiresAt: 0 }, NOW + 10)).toBeNull();
      expect(await store.list('ns-expiry', NOW + 10)).toEqual([]);
      expect(await store.unlinkNamespaceAccess('ns-expiry', NOW + 10)).toBe(0);
      expect(await store.deleteNamespace('ns-expiry', NOW + 10)).toBe(0);
      expect(await store.delete(expiring.uid, NOW + 10)).toBe(0);
    });

    it('does not store a session that is already expired', async () => {
      const stale = session({ expiresAt: NOW });
      await store.create(stale, NOW);
      expect(await store.find(stale.uid, NOW - 1)).toBeNull();
    });

    it('relinks only a live session that still honours the expected access uid', async () => {
      const created = session();
      await store.create(created, NOW);
      const link = { accessUid: 'access-2', accessExpiresAt: NOW + 120, csrf: Buffer.alloc(32, 9).toString('base64'), refreshedAt: NOW, idleExpiresAt: 0 };

      expect(await store.relink(created.uid, 'someone-else', link, NOW)).toBeNull();
      expect((await store.find(created.uid, NOW))?.accessUid).toBe(created.accessUid);

      const updated = await store.relink(created.uid, created.accessUid, link, NOW);
      expect(updated).toEqual({ ...created, ...link });
      expect(await store.find(created.uid, NOW)).toEqual({ ...created, ...link });
      // A resend of the same relink (its reply was lost) succeeds again; another relink from the old state does not.
      expect(await store.relink(created.uid, created.accessUid, link, NOW)).toEqual({ ...created, ...link });
      expect(await store.relink(created.uid, created.accessUid, { ...link, accessUid: 'access-3' }, NOW)).toBeNull();
      expect(await store.relink(store.createSessionId(null), '', link, NOW)).toBeNull();
    });

    it('lets exactly one of many racing relinks on one state win', async () => {
      const created = session();
      await store.create(created, NOW);
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) =>
        store.relink(created.uid, created.accessUid, { accessUid: `racer-${i}`, accessExpiresAt: NOW + 99, csrf: created.csrf, refreshedAt: NOW, idleExpiresAt: 0 }, NOW)));
      const winners = results.filter((result) => result !== null);
      expect(winners).toHaveLength(1);
      expect((await store.find(created.uid, NOW))?.accessUid).toBe(winners[0]?.accessUid);
    });

    it('deletes one session, once, and takes it out of its namespace', async () => {
      const first = session({ namespace: 'ns-delete' });
      const second = session({ namespace: 'ns-delete' });
      await store.create(first, NOW);
      await store.create(second, NOW);
      expect(await store.delete(first.uid, NOW)).toBe(1);
      expect(await store.delete(first.uid, NOW)).toBe(0);
      expect(await store.find(first.uid, NOW)).toBeNull();
      expect((await store.list('ns-delete', NOW)).map((s) => s.uid)).toEqual([second.uid]);
    });

    it('lists, unlinks and deletes a namespace without touching other sessions', async () => {
      const mine = [session({ namespace: 'ns-a' }), session({ namespace: 'ns-a' }), session({ namespace: 'ns-a' })];
      const theirs = session({ namespace: 'ns-b' });
      const loose = session();
      for (const s of [...mine, theirs, loose]) await store.create(s, NOW);

      const listed = await store.list('ns-a', NOW);
      expect(listed.map((s) => s.uid).sort()).toEqual(mine.map((s) => s.uid).sort());
      expect(listed.every((s) => s.namespace === 'ns-a')).toBe(true);
      expect(await store.list('ns-none', NOW)).toEqual([]);

      expect(await store.unlinkNamespaceAccess('ns-a', NOW)).toBe(3);
      for (const s of mine) {
        expect(await store.find(s.uid, NOW)).toEqual({ ...s, accessExpiresAt: 0 });
      }
      expect((await store.find(theirs.uid, NOW))?.accessUid).toBe(theirs.accessUid);

      expect(await store.deleteNamespace('ns-a', NOW)).toBe(3);
      expect(await store.deleteNamespace('ns-a', NOW)).toBe(0);
      for (const s of mine) expect(await store.find(s.uid, NOW)).toBeNull();
      expect(await store.find(theirs.uid, NOW)).toEqual(theirs);
      expect(await store.find(loose.uid, NOW)).toEqual(loose);
    });

    it('deletes everything and counts only live sessions', async () => {
      await store.create(session({ namespace: 'ns-all' }), NOW);
      await store.create(session(), NOW);
      await store.create(session({ expiresAt: NOW + 5 }), NOW);
      expect(await store.deleteAll(NOW + 5)).toBe(2);
      expect(await store.list('ns-all', NOW + 5)).toEqual([]);
      expect(await store.deleteAll(NOW + 5)).toBe(0);
    });
  });
}
