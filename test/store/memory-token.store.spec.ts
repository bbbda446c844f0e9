import { jest } from '@jest/globals';
import { MemoryTokenStore, StoreUnavailableError, TokenStore, type StoredSession } from '../../lib/index.js';
import { unrotated } from '../support/stored-session.js';

/**
 * Port of the gem's store_adapters/test_memory_store_adapter.rb and of the store halves of test_access_token.rb and
 * test_refresh_token.rb, against the TokenStore contract: times are the `now` the caller passes, never a timer.
 */

const NOW = 1_000_000;

function session(uid: string, overrides: Partial<StoredSession> = {}): StoredSession {
  return {
    uid,
    namespace: null,
    csrf: 'csrf',
    accessUid: `access-${uid}`,
    accessExpiresAt: NOW + 3600,
    expiresAt: NOW + 3600,
    createdAt: NOW,
    refreshByAccessAllowed: false,
    ...unrotated(overrides.createdAt ?? NOW),
    ...overrides,
  };
}

/** The store's private namespace index, read only to prove it does not keep empty entries. */
function namespaceIndex(store: MemoryTokenStore): Map<string, Set<string>> {
  return (store as unknown as { namespaces: Map<string, Set<string>> }).namespaces;
}

/** The store's private deadline heap, read only to prove it does not grow without bound. */
function deadlineCount(store: MemoryTokenStore): number {
  return (store as unknown as { deadlines: { size: number } }).deadlines.size;
}

describe('MemoryTokenStore', () => {
  let store: MemoryTokenStore;

  beforeEach(() => {
    store = new MemoryTokenStore();
  });

  it('is a TokenStore', () => {
    expect(store).toBeInstanceOf(TokenStore);
  });

  describe('create and find (test_persist_and_fetch_refresh)', () => {
    it('finds a live session by uid', async () => {
      await store.create(session('uid', { namespace: 'ns' }), NOW);
      expect(await store.find('uid', NOW)).toEqual(session('uid', { namespace: 'ns' }));
      expect(await store.find('other', NOW)).toBeNull();
    });

    it('does not store a session that has already expired', async () => {
      await store.create(session('past', { expiresAt: NOW - 3600 }), NOW);
      await store.create(session('now', { expiresAt: NOW }), NOW);
      expect(await store.find('past', NOW - 7200)).toBeNull();
      expect(await store.find('now', NOW - 1)).toBeNull();
      expect(await store.deleteAll(NOW - 7200)).toBe(0);
    });

    it('replaces a session created again under the same uid, namespace index included', async () => {
      await store.create(session('uid', { namespace: 'ns', csrf: 'csrf' }), NOW);
      await store.create(session('uid', { namespace: 'ns2', csrf: 'csrf2' }), NOW);
      expect((await store.find('uid', NOW))?.csrf).toBe('csrf2');
      expect(await store.list('ns', NOW)).toEqual([]);
      expect((await store.list('ns2', NOW)).map((found) => found.uid)).toEqual(['uid']);
      expect(namespaceIndex(store).has('ns')).toBe(false);
    });

    it('copies records in and out: callers cannot change what is stored', async () => {
      const input = session('uid', { namespace: 'ns' });
      await store.create(input, NOW);
      input.accessUid = 'changed-after-create';
      const found = (await store.find('uid', NOW)) as StoredSession;
      expect(found.accessUid).toBe('access-uid');
      found.accessUid = 'changed-after-find';
      const [listed] = await store.list('ns', NOW);
      expect(listed.accessUid).toBe('access-uid');
      listed.csrf = 'changed-after-list';
      const relinked = await store.relink('uid', 'access-uid', { accessUid: 'a2', accessExpiresAt: NOW + 10, csrf: 'c2', refreshedAt: NOW, idleExpiresAt: 0 }, NOW);
      (relinked as StoredSession).csrf = 'changed-after-relink';
      expect(await store.find('uid', NOW)).toMatchObject({ accessUid: 'a2', csrf: 'c2' });
    });

    it('answers findNow with its own record, to read at once (the module copies what it hands out), under find\'s rules', async () => {
      await store.create(session('uid', { expiresAt: NOW + 100 }), NOW);
      const record = store.findNow('uid', NOW);
      expect(store.findNow('uid', NOW)).toBe(record);
      expect(record).toEqual(await store.find('uid', NOW));
      expect(await store.find('uid', NOW)).not.toBe(record);
      // A relink changes the record in place: a reader that kept it would see the change, which is why none may keep it.
      await store.relink('uid', 'access-uid', { accessUid: 'a2', accessExpiresAt: NOW + 10, csrf: 'c2', refreshedAt: NOW, idleExpiresAt: 0 }, NOW);
      expect(record).toMatchObject({ accessUid: 'a2' });
      expect(store.findNow('uid', NOW + 100)).toBeNull();
      expect(store.findNow('missing', NOW)).toBeNull();
    });
  });

  describe('expiry', () => {
    it('never returns a session once now reaches its expiresAt', async () => {
      await store.create(session('uid', { namespace: 'ns', expiresAt: NOW + 100 }), NOW);
      expect(await store.find('uid', NOW + 99)).not.toBeNull();
      expect(await store.find('uid', NOW + 100)).toBeNull();
      expect(await store.list('ns', NOW + 100)).toEqual([]);
      expect(await store.delete('uid', NOW + 100)).toBe(0);
    });

    it.each([
      ['find', (target: MemoryTokenStore, now: number) => target.find('uid', now)],
      ['list', (target: MemoryTokenStore, now: number) => target.list('ns', now)],
      ['relink', (target: MemoryTokenStore, now: number) => target.relink('x', 'y', { accessUid: '', accessExpiresAt: 0, csrf: '', refreshedAt: NOW, idleExpiresAt: 0 }, now)],
      ['delete', (target: MemoryTokenStore, now: number) => target.delete('other', now)],
      ['deleteNamespace', (target: MemoryTokenStore, now: number) => target.deleteNamespace('other', now)],
      ['unlinkNamespaceAccess', (target: MemoryTokenStore, now: number) => target.unlinkNamespaceAccess('other', now)],
      ['create', (target: MemoryTokenStore, now: number) => target.create(session('another', { expiresAt: now + 10 }), now)],
    ])('frees expired sessions on %s, with no timer', async (_name, call) => {
      const setTimeoutSpy = jest.spyOn(globalThis, 'setTimeout');
      const setIntervalSpy = jest.spyOn(globalThis, 'setInterval');
      try {
        await store.create(session('uid', { namespace: 'ns', expiresAt: NOW + 100 }), NOW);
        await call(store, NOW + 100);
        // Asking again with an earlier time proves the session was freed, not merely hidden.
        expect(await store.find('uid', NOW)).toBeNull();
        expect(namespaceIndex(store).has('ns')).toBe(false);
        expect(setTimeoutSpy).not.toHaveBeenCalled();
        expect(setIntervalSpy).not.toHaveBeenCalled();
      } finally {
        setTimeoutSpy.mockRestore();
        setIntervalSpy.mockRestore();
      }
    });

    it('keeps a live session until its time, whatever order sessions expire in', async () => {
      // A fixed pseudo-random order exercises the deadline heap without flakiness.
      let seed = 42;
      const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
      const expiries = new Map<string, number>();
      for (let i = 0; i < 200; i++) {
        const expiresAt = NOW + 1 + (next() % 500);
        expiries.set(`s${i}`, expiresAt);
        await store.create(session(`s${i}`, { namespace: 'ns', expiresAt }), NOW);
      }
      for (const now of [NOW, NOW + 1, NOW + 50, NOW + 51, NOW + 250, NOW + 499, NOW + 500, NOW + 501]) {
        const expected = [...expiries].filter(([, at]) => at > now).map(([uid]) => uid).sort();
        expect((await store.list('ns', now)).map((found) => found.uid).sort()).toEqual(expected);
      }
    });

    it('does not evict a session recreated with a later expiry when its old deadline passes', async () => {
      await store.create(session('uid', { expiresAt: NOW + 100 }), NOW);
      await store.create(session('uid', { expiresAt: NOW + 200 }), NOW);
      expect(await store.find('uid', NOW + 150)).not.toBeNull();
      expect(await store.find('uid', NOW + 200)).toBeNull();
    });

    it('does not count expired sessions in deleteAll, deleteNamespace or unlinkNamespaceAccess', async () => {
      await store.create(session('short', { namespace: 'ns', expiresAt: NOW + 10 }), NOW);
      await store.create(session('long', { namespace: 'ns', expiresAt: NOW + 100 }), NOW);
      expect(await store.unlinkNamespaceAccess('ns', NOW + 10)).toBe(1);
      expect(await store.deleteNamespace('ns', NOW + 10)).toBe(1);
      await store.create(session('short', { expiresAt: NOW + 20 }), NOW + 10);
      await store.create(session('long', { expiresAt: NOW + 100 }), NOW + 10);
      expect(await store.deleteAll(NOW + 20)).toBe(1);
    });

    it('does not keep the deadlines of deleted sessions without bound, and still expires the live ones after a rebuild', async () => {
      // Deleted sessions leave stale deadlines; the store rebuilds its heap before they outnumber the live ones.
      for (let i = 0; i < 10; i++) await store.create(session(`live${i}`, { namespace: 'live', expiresAt: NOW + 100 + i }), NOW);
      for (let i = 0; i < 5000; i++) {
        await store.create(session(`s${i}`, { expiresAt: NOW + 604800 }), NOW);
        await store.delete(`s${i}`, NOW);
        expect(deadlineCount(store)).toBeLessThanOrEqual(2 * 10 + 1024 + 2);
      }
      expect((await store.list('live', NOW + 104)).map((found) => found.uid).sort()).toEqual(['live5', 'live6', 'live7', 'live8', 'live9']);
      expect(await store.list('live', NOW + 109)).toEqual([]);
    });
  });

  describe('relink (test_update_refresh, test_update)', () => {
    const link = { accessUid: 'access-2', accessExpiresAt: NOW + 7200, csrf: 'csrf2', refreshedAt: NOW, idleExpiresAt: 0 };

    beforeEach(async () => {
      await store.create(session('uid', { namespace: 'ns' }), NOW);
    });

    it('points the session at a new access token and CSRF secret when the expected access uid matches', async () => {
      const updated = await store.relink('uid', 'access-uid', link, NOW);
      expect(updated).toEqual({ ...session('uid', { namespace: 'ns' }), ...link });
      expect(await store.find('uid', NOW)).toEqual(updated);
    });

    it('changes only the access link, whatever else the link object carries', async () => {
      const full = session('uid', { ...link, namespace: 'elsewhere', expiresAt: NOW + 10 ** 6, createdAt: 1, refreshByAccessAllowed: true });
      await store.relink('uid', 'access-uid', full, NOW);
      expect(await store.find('uid', NOW)).toEqual({ ...session('uid', { namespace: 'ns' }), ...link });
      expect(await store.list('elsewhere', NOW)).toEqual([]);
    });

    it('answers null and changes nothing when the expected access uid does not match', async () => {
      expect(await store.relink('uid', 'stale-access', link, NOW)).toBeNull();
      expect(await store.find('uid', NOW)).toEqual(session('uid', { namespace: 'ns' }));
    });

    it('lets only the first of two relinks from the same state win', async () => {
      expect(await store.relink('uid', 'access-uid', link, NOW)).not.toBeNull();
      expect(await store.relink('uid', 'access-uid', { ...link, accessUid: 'access-3' }, NOW)).toBeNull();
      expect((await store.find('uid', NOW))?.accessUid).toBe('access-2');
    });

    it('answers null for a missing, deleted or expired session and creates nothing', async () => {
      expect(await store.relink('missing', 'access-missing', link, NOW)).toBeNull();
      expect(await store.find('missing', NOW)).toBeNull();
      await store.delete('uid', NOW);
      expect(await store.relink('uid', 'access-uid', link, NOW)).toBeNull();
      expect(await store.find('uid', NOW)).toBeNull();
      await store.create(session('short', { expiresAt: NOW + 10 }), NOW);
      expect(await store.relink('short', 'access-short', link, NOW + 10)).toBeNull();
      expect(await store.find('short', NOW)).toBeNull();
    });
  });

  describe('delete (test_destroy_refresh)', () => {
    it('answers 1, then 0', async () => {
      await store.create(session('uid', { namespace: 'ns' }), NOW);
      expect(await store.delete('uid', NOW)).toBe(1);
      expect(await store.find('uid', NOW)).toBeNull();
      expect(await store.delete('uid', NOW)).toBe(0);
      expect(namespaceIndex(store).has('ns')).toBe(false);
    });
  });

  describe('list (test_all_refresh_tokens, test_all)', () => {
    it('lists the sessions of one namespace only', async () => {
      await store.create(session('a', { namespace: 'ns' }), NOW);
      await store.create(session('b', { namespace: 'ns' }), NOW);
      await store.create(session('c', { namespace: 'ns2' }), NOW);
      await store.create(session('d'), NOW);
      expect((await store.list('ns', NOW)).map((found) => found.uid).sort()).toEqual(['a', 'b']);
      expect((await store.list('ns2', NOW)).map((found) => found.uid)).toEqual(['c']);
      expect(await store.list('none', NOW)).toEqual([]);
    });
  });

  describe('deleteNamespace', () => {
    it('deletes the sessions of one namespace, answers how many, and drops its index', async () => {
      await store.create(session('a', { namespace: 'ns' }), NOW);
      await store.create(session('b', { namespace: 'ns' }), NOW);
      await store.create(session('c', { namespace: 'ns2' }), NOW);
      await store.create(session('d'), NOW);
      expect(await store.deleteNamespace('ns', NOW)).toBe(2);
      expect(await store.find('a', NOW)).toBeNull();
      expect(await store.find('b', NOW)).toBeNull();
      expect(await store.find('c', NOW)).not.toBeNull();
      expect(await store.find('d', NOW)).not.toBeNull();
      expect(namespaceIndex(store).has('ns')).toBe(false);
      expect(await store.deleteNamespace('ns', NOW)).toBe(0);
    });
  });

  describe('unlinkNamespaceAccess', () => {
    it("empties the access link of the namespace's sessions only, keeping them", async () => {
      await store.create(session('a', { namespace: 'ns' }), NOW);
      await store.create(session('b', { namespace: 'ns2' }), NOW);
      expect(await store.unlinkNamespaceAccess('ns', NOW)).toBe(1);
      expect(await store.find('a', NOW)).toEqual({ ...session('a', { namespace: 'ns' }), accessExpiresAt: 0 });
      expect(await store.find('b', NOW)).toEqual(session('b', { namespace: 'ns2' }));
      expect(await store.unlinkNamespaceAccess('none', NOW)).toBe(0);
    });

    it('keeps the access uid, so a relink from the last access token still succeeds', async () => {
      await store.create(session('a', { namespace: 'ns' }), NOW);
      await store.unlinkNamespaceAccess('ns', NOW);
      expect(await store.relink('a', '', { accessUid: 'x', accessExpiresAt: NOW + 1, csrf: 'c', refreshedAt: NOW, idleExpiresAt: 0 }, NOW)).toBeNull();
      expect(await store.relink('a', 'access-a', { accessUid: 'x', accessExpiresAt: NOW + 1, csrf: 'c', refreshedAt: NOW, idleExpiresAt: 0 }, NOW))
        .toMatchObject({ accessUid: 'x', accessExpiresAt: NOW + 1 });
    });
  });

  describe('maxSessions', () => {
    it('refuses a new session beyond the limit with StoreUnavailableError, and stores nothing', async () => {
      const small = new MemoryTokenStore({ maxSessions: 2 });
      await small.create(session('a'), NOW);
      await small.create(session('b'), NOW);
      await expect(small.create(session('c'), NOW)).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(small.create(session('c'), NOW)).rejects.toMatchObject({ code: 'ERR_JWT_SESSIONS_STORE_UNAVAILABLE' });
      expect(await small.find('c', NOW)).toBeNull();
    });

    it('counts live sessions only: replacing, deleting and expiring make room', async () => {
      const small = new MemoryTokenStore({ maxSessions: 2 });
      await small.create(session('a'), NOW);
      await small.create(session('b', { expiresAt: NOW + 10 }), NOW);
      await small.create(session('a', { csrf: 'again' }), NOW);
      expect((await small.find('a', NOW))?.csrf).toBe('again');
      await small.create(session('c'), NOW + 10);
      await small.delete('a', NOW + 10);
      await small.create(session('d'), NOW + 10);
      expect((await Promise.all(['a', 'b', 'c', 'd'].map((uid) => small.find(uid, NOW + 10)))).map(Boolean)).toEqual([false, false, true, true]);
    });
  });

  describe('deleteAll', () => {
    it('deletes every session, namespaced or not, and answers how many', async () => {
      await store.create(session('a', { namespace: 'ns' }), NOW);
      await store.create(session('b'), NOW);
      await store.create(session('c', { namespace: 'ns2' }), NOW);
      expect(await store.deleteAll(NOW)).toBe(3);
      for (const uid of ['a', 'b', 'c']) expect(await store.find(uid, NOW)).toBeNull();
      expect(await store.list('ns', NOW)).toEqual([]);
      expect(namespaceIndex(store).size).toBe(0);
      expect(deadlineCount(store)).toBe(0);
      expect(await store.deleteAll(NOW)).toBe(0);
    });
  });
});
