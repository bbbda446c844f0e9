import type { PresentedToken, RotationLink, StoredSession, SuccessorTokens, TokenStore } from '../../lib/index.js';
import { unrotated } from '../support/stored-session.js';

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
        ...unrotated(NOW),
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

    describe('relinkByRefreshToken', () => {
      const link = (i: number, at = NOW) => ({
        accessUid: `access-by-refresh-${i}`, accessExpiresAt: at + 120, csrf: Buffer.alloc(32, i).toString('base64'), refreshedAt: at, idleExpiresAt: 0,
      });

      it('relinks a never-rotated session on the empty refresh id and answers when the replaced access token would have expired', async () => {
        const created = session({ accessExpiresAt: NOW - 5 });
        await store.create(created, NOW);
        expect(await store.relinkByRefreshToken(created.uid, '', link(1), NOW, true)).toEqual({
          outcome: 'relinked', session: { ...created, ...link(1) }, replacedAccessExpiresAt: NOW - 5,
        });
        expect(await store.find(created.uid, NOW)).toEqual({ ...created, ...link(1) });
        // A resend of the same relink (its reply was lost) answers relinked again and changes nothing.
        expect(await store.relinkByRefreshToken(created.uid, '', link(1), NOW, true)).toEqual({
          outcome: 'relinked', session: { ...created, ...link(1) }, replacedAccessExpiresAt: 0,
        });
      });

      it('answers early and writes nothing while the access token is live, if asked to stop; relinks otherwise', async () => {
        const created = session({ accessExpiresAt: NOW + 60 });
        await store.create(created, NOW);
        expect(await store.relinkByRefreshToken(created.uid, '', link(2), NOW, true)).toEqual({ outcome: 'early', session: created });
        expect(await store.find(created.uid, NOW)).toEqual(created);
        expect(await store.relinkByRefreshToken(created.uid, '', link(2), NOW, false)).toEqual({
          outcome: 'relinked', session: { ...created, ...link(2) }, replacedAccessExpiresAt: NOW + 60,
        });
      });

      it('answers not-current and writes nothing for any refresh id but the session\'s current one', async () => {
        const rotated = session({ refreshUid: 'refresh-current' });
        await store.create(rotated, NOW);
        for (const id of ['', 'refresh-old', 'refresh-currentx']) {
          expect(await store.relinkByRefreshToken(rotated.uid, id, link(3), NOW, false)).toEqual({ outcome: 'not-current' });
        }
        expect(await store.find(rotated.uid, NOW)).toEqual(rotated);
        const plain = session();
        await store.create(plain, NOW);
        expect(await store.relinkByRefreshToken(plain.uid, 'refresh-current', link(3), NOW, false)).toEqual({ outcome: 'not-current' });
        expect(await store.relinkByRefreshToken(rotated.uid, 'refresh-current', link(3), NOW, false))
          .toMatchObject({ outcome: 'relinked', session: { ...rotated, ...link(3) } });
      });

      it('answers gone for an unknown, expired, idle-expired or malformed session id, and creates nothing', async () => {
        const expiring = session({ expiresAt: NOW + 10 });
        const idle = session({ idleExpiresAt: NOW + 5 });
        await store.create(expiring, NOW);
        await store.create(idle, NOW);
        for (const [uid, at] of [[expiring.uid, NOW + 10], [idle.uid, NOW + 5], [store.createSessionId(null), NOW], ['not-an-id', NOW]] as const) {
          expect(await store.relinkByRefreshToken(uid, '', link(4, at), at, false)).toEqual({ outcome: 'gone' });
          expect(await store.find(uid, at)).toBeNull();
        }
      });

      it('never revives a deleted session, and the last of many racing relinks is the one stored', async () => {
        const created = session({ accessExpiresAt: NOW - 1 });
        await store.create(created, NOW);
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.relinkByRefreshToken(created.uid, '', link(10 + i), NOW, false)));
        expect(results.every((result) => result.outcome === 'relinked')).toBe(true);
        const stored = await store.find(created.uid, NOW);
        expect(results.map((result) => (result.outcome === 'relinked' ? result.session.accessUid : null))).toContain(stored?.accessUid);
        await store.delete(created.uid, NOW);
        expect(await store.relinkByRefreshToken(created.uid, '', link(40), NOW, false)).toEqual({ outcome: 'gone' });
        expect(await store.find(created.uid, NOW)).toBeNull();
      });
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

    /** The link of rotation `n`: new access uid, CSRF secret, refresh id, at `at`, with an optional idle deadline. */
    function rotationLink(n: number | string, at: number, idleExpiresAt = 0): RotationLink {
      return {
        accessUid: `access-${n}`, accessExpiresAt: at + 60, csrf: Buffer.alloc(32, `${n}`.length + 10).toString('base64'),
        refreshedAt: at, idleExpiresAt, refreshUid: `refresh-${n}`,
      };
    }

    function tokens(n: number | string): SuccessorTokens {
      return { access: `access-jwt-${n}`, refresh: `refresh-jwt-${n}` };
    }

    const byRefresh = (id: string): PresentedToken => ({ kind: 'refresh', id });
    const byAccess = (id: string): PresentedToken => ({ kind: 'access', id });

    /** The session as a rotation from `before` through `link` at `at` leaves it. */
    function rotated(before: StoredSession, link: RotationLink, at: number): StoredSession {
      return { ...before, ...link, rotation: { refreshUid: before.refreshUid, accessUid: before.accessUid, csrf: before.csrf, rotatedAt: at } };
    }

    const uids = (sessions: StoredSession[]) => sessions.map((s) => s.uid).sort();

    describe('rotate', () => {
      it('rotates on the current refresh id: the session takes the link and remembers what it retired', async () => {
        const created = session({ namespace: 'ns-rotate', refreshUid: 'refresh-0', idleExpiresAt: NOW + 300, userAgent: 'ua', ip: '192.0.2.1' });
        await store.create(created, NOW);
        const link = rotationLink(1, NOW + 10, NOW + 310);
        const expected = rotated(created, link, NOW + 10);

        expect(await store.rotate(created.uid, byRefresh('refresh-0'), link, tokens(1), 30, NOW + 10)).toEqual({ outcome: 'rotated', session: expected });
        expect(await store.find(created.uid, NOW + 10)).toEqual(expected);
        expect(await store.list('ns-rotate', NOW + 10)).toEqual([expected]);
      });

      it('answers a resend of the very same rotation (same new refresh id) with rotated again, changing nothing', async () => {
        const created = session({ refreshUid: 'refresh-0' });
        await store.create(created, NOW);
        const link = rotationLink(1, NOW + 10);
        const expected = rotated(created, link, NOW + 10);
        await store.rotate(created.uid, byRefresh('refresh-0'), link, tokens(1), 30, NOW + 10);

        expect(await store.rotate(created.uid, byRefresh('refresh-0'), link, tokens(1), 30, NOW + 12)).toEqual({ outcome: 'rotated', session: expected });
        expect(await store.rotate(created.uid, byRefresh('refresh-0'), link, tokens(1), 0, NOW + 100)).toEqual({ outcome: 'rotated', session: expected });
        expect(await store.find(created.uid, NOW + 100)).toEqual(expected);
      });

      it('replays the winner\'s successor tokens to a repeat of the retired refresh id within the grace window', async () => {
        const created = session({ namespace: 'ns-replay', refreshUid: 'refresh-0' });
        await store.create(created, NOW);
        const link = rotationLink(1, NOW + 10);
        const expected = rotated(created, link, NOW + 10);
        await store.rotate(created.uid, byRefresh('refresh-0'), link, tokens(1), 30, NOW + 10);

        // A repeat brings its own successors and link: it gets the first ones, and changes nothing.
        for (const [n, at] of [[2, NOW + 10], [3, NOW + 25], [4, NOW + 40]] as const) {
          expect(await store.rotate(created.uid, byRefresh('refresh-0'), rotationLink(n, at), tokens(n), 30, at))
            .toEqual({ outcome: 'replayed', session: expected, tokens: tokens(1) });
        }
        expect(await store.find(created.uid, NOW + 40)).toEqual(expected);
      });

      // Fixed bug: the Redis store (lib/store/redis/redis-scripts.ts, ROTATE, the `previous` branch) ignores `now` for the
      // grace window: it replays whenever the successors key still exists, and that key expires by Redis's own clock
      // (EXPIRE grace, real seconds), so a caller's `now` past rotatedAt + grace still gets 'replayed' (memory: 'reused').
      it('treats the retired refresh id as reuse once the grace window is over: the whole session is revoked', async () => {
        const created = session({ namespace: 'ns-reuse', refreshUid: 'refresh-0' });
        const other = session({ namespace: 'ns-reuse' });
        await store.create(created, NOW);
        await store.create(other, NOW);
        await store.rotate(created.uid, byRefresh('refresh-0'), rotationLink(1, NOW + 10), tokens(1), 30, NOW + 10);

        expect(await store.rotate(created.uid, byRefresh('refresh-0'), rotationLink(2, NOW + 41), tokens(2), 30, NOW + 41))
          .toEqual({ outcome: 'reused', namespace: 'ns-reuse' });
        expect(await store.find(created.uid, NOW + 41)).toBeNull();
        expect(uids(await store.list('ns-reuse', NOW + 41))).toEqual([other.uid]);
        // Its current token is of no use either, and the namespace no longer counts it.
        expect(await store.rotate(created.uid, byRefresh('refresh-1'), rotationLink(3, NOW + 42), tokens(3), 30, NOW + 42)).toEqual({ outcome: 'gone' });
        expect(await store.deleteNamespace('ns-reuse', NOW + 42)).toBe(1);
      });

      it('treats any repeat as reuse right away with a grace window of 0, and says which namespace lost the session', async () => {
        const namespaced = session({ namespace: 'ns-grace-0', refreshUid: 'refresh-0' });
        const loose = session({ refreshUid: 'refresh-0' });
        for (const s of [namespaced, loose]) {
          await store.create(s, NOW);
          expect((await store.rotate(s.uid, byRefresh('refresh-0'), rotationLink(1, NOW + 10), tokens(1), 0, NOW + 10)).outcome).toBe('rotated');
          expect(await store.find(s.uid, NOW + 10)).not.toBeNull();
        }
        expect(await store.rotate(namespaced.uid, byRefresh('refresh-0'), rotationLink(2, NOW + 10), tokens(2), 0, NOW + 10))
          .toEqual({ outcome: 'reused', namespace: 'ns-grace-0' });
        expect(await store.rotate(loose.uid, byRefresh('refresh-0'), rotationLink(2, NOW + 10), tokens(2), 0, NOW + 10))
          .toEqual({ outcome: 'reused', namespace: null });
        expect(await store.find(namespaced.uid, NOW + 10)).toBeNull();
        expect(await store.find(loose.uid, NOW + 10)).toBeNull();
        expect(await store.list('ns-grace-0', NOW + 10)).toEqual([]);
      });

      it('treats a token two generations old as reuse even inside the grace window', async () => {
        const created = session({ namespace: 'ns-two-generations', refreshUid: 'refresh-0' });
        await store.create(created, NOW);
        const first = rotationLink(1, NOW + 10);
        const second = rotationLink(2, NOW + 11);
        await store.rotate(created.uid, byRefresh('refresh-0'), first, tokens(1), 30, NOW + 10);
        const expected = rotated(rotated(created, first, NOW + 10), second, NOW + 11);
        expect(await store.rotate(created.uid, byRefresh('refresh-1'), second, tokens(2), 30, NOW + 11)).toEqual({ outcome: 'rotated', session: expected });

        // The token the last rotation retired still replays that rotation's successors...
        expect(await store.rotate(created.uid, byRefresh('refresh-1'), rotationLink(3, NOW + 12), tokens(3), 30, NOW + 12))
          .toEqual({ outcome: 'replayed', session: expected, tokens: tokens(2) });
        // ...but the one before it is reuse.
        expect(await store.rotate(created.uid, byRefresh('refresh-0'), rotationLink(4, NOW + 12), tokens(4), 30, NOW + 12))
          .toEqual({ outcome: 'reused', namespace: 'ns-two-generations' });
        expect(await store.find(created.uid, NOW + 12)).toBeNull();
        expect(await store.list('ns-two-generations', NOW + 12)).toEqual([]);
      });

      it('treats an access uid two generations old as reuse too', async () => {
        const created = session({ refreshUid: 'refresh-0', accessUid: 'access-0' });
        await store.create(created, NOW);
        await store.rotate(created.uid, byAccess('access-0'), rotationLink(1, NOW + 10), tokens(1), 30, NOW + 10);
        await store.rotate(created.uid, byAccess('access-1'), rotationLink(2, NOW + 11), tokens(2), 30, NOW + 11);
        expect(await store.rotate(created.uid, byAccess('access-0'), rotationLink(3, NOW + 12), tokens(3), 30, NOW + 12))
          .toEqual({ outcome: 'reused', namespace: null });
        expect(await store.find(created.uid, NOW + 12)).toBeNull();
      });

      it('rotates on the current access uid, replays the retired one within grace, and refuses it once access was flushed', async () => {
        const created = session({ namespace: 'ns-by-access', refreshUid: 'refresh-0', accessUid: 'access-0', refreshByAccessAllowed: true });
        await store.create(created, NOW);
        const link = rotationLink(1, NOW + 10);
        const expected = rotated(created, link, NOW + 10);
        expect(expected.rotation).toEqual({ refreshUid: 'refresh-0', accessUid: 'access-0', csrf: created.csrf, rotatedAt: NOW + 10 });

        expect(await store.rotate(created.uid, byAccess('access-0'), link, tokens(1), 30, NOW + 10)).toEqual({ outcome: 'rotated', session: expected });
        expect(await store.rotate(created.uid, byAccess('access-0'), rotationLink(2, NOW + 11), tokens(2), 30, NOW + 11))
          .toEqual({ outcome: 'replayed', session: expected, tokens: tokens(1) });
        // The refresh id that rotation retired is the same repeat.
        expect(await store.rotate(created.uid, byRefresh('refresh-0'), rotationLink(3, NOW + 11), tokens(3), 30, NOW + 11))
          .toEqual({ outcome: 'replayed', session: expected, tokens: tokens(1) });

        expect(await store.unlinkNamespaceAccess('ns-by-access', NOW + 12)).toBe(1);
        expect(await store.rotate(created.uid, byAccess('access-1'), rotationLink(4, NOW + 12), tokens(4), 30, NOW + 12)).toEqual({ outcome: 'refused' });
        // Refused is not revoked: the session is still there, unchanged, and its refresh token still rotates.
        expect(await store.find(created.uid, NOW + 12)).toEqual({ ...expected, accessExpiresAt: 0 });
        const link5 = rotationLink(5, NOW + 13);
        const afterFlush = rotated({ ...expected, accessExpiresAt: 0 }, link5, NOW + 13);
        // The flushed access token was dead, not retired: it is not recorded, so it can never replay the successors.
        expect(afterFlush.rotation).toEqual({ refreshUid: 'refresh-1', accessUid: 'access-1', csrf: expected.csrf, rotatedAt: NOW + 13 });
        const withoutFlushed = { ...afterFlush, rotation: { refreshUid: 'refresh-1', accessUid: '', csrf: expected.csrf, rotatedAt: NOW + 13 } };
        expect(await store.rotate(created.uid, byRefresh('refresh-1'), link5, tokens(5), 30, NOW + 13))
          .toEqual({ outcome: 'rotated', session: withoutFlushed });
        expect(await store.rotate(created.uid, byAccess('access-1'), rotationLink(6, NOW + 14), tokens(6), 30, NOW + 14))
          .toEqual({ outcome: 'reused', namespace: 'ns-by-access' });
      });

      it('with stopIfEarly, answers early and writes nothing while the current token\'s access is live; rotates once it is not', async () => {
        const created = session({ namespace: 'ns-early', refreshUid: 'refresh-0', accessExpiresAt: NOW + 60 });
        await store.create(created, NOW);
        expect(await store.rotate(created.uid, byRefresh('refresh-0'), rotationLink(1, NOW + 10), tokens(1), 30, NOW + 10, true))
          .toEqual({ outcome: 'early', session: created });
        expect(await store.find(created.uid, NOW + 10)).toEqual(created);
        const link = rotationLink(2, NOW + 60);
        expect(await store.rotate(created.uid, byRefresh('refresh-0'), link, tokens(2), 30, NOW + 60, true))
          .toEqual({ outcome: 'rotated', session: rotated(created, link, NOW + 60) });
        // A repeat is never early: it replays.
        expect((await store.rotate(created.uid, byRefresh('refresh-0'), rotationLink(3, NOW + 61), tokens(3), 30, NOW + 61, true)).outcome).toBe('replayed');
      });

      it('rotates a legacy session (no refresh id yet) on the empty id, and replays the empty id within grace', async () => {
        const created = session({ refreshUid: '' });
        await store.create(created, NOW);
        const link = rotationLink(1, NOW + 10);
        const expected = rotated(created, link, NOW + 10);
        expect(expected.rotation?.refreshUid).toBe('');

        expect(await store.rotate(created.uid, byRefresh(''), link, tokens(1), 30, NOW + 10)).toEqual({ outcome: 'rotated', session: expected });
        expect(await store.find(created.uid, NOW + 10)).toEqual(expected);
        expect(await store.rotate(created.uid, byRefresh(''), rotationLink(2, NOW + 11), tokens(2), 30, NOW + 11))
          .toEqual({ outcome: 'replayed', session: expected, tokens: tokens(1) });
      });

      it('answers gone for an unknown, expired or malformed session id, and creates nothing', async () => {
        const expiring = session({ namespace: 'ns-gone', refreshUid: 'refresh-0', expiresAt: NOW + 10 });
        await store.create(expiring, NOW);
        const unknown = store.createSessionId('ns-gone');

        expect(await store.rotate(unknown, byRefresh('refresh-0'), rotationLink(1, NOW), tokens(1), 30, NOW)).toEqual({ outcome: 'gone' });
        expect(await store.rotate('not-an-id', byRefresh('refresh-0'), rotationLink(1, NOW), tokens(1), 30, NOW)).toEqual({ outcome: 'gone' });
        expect(await store.rotate(`${expiring.uid}x`, byRefresh('refresh-0'), rotationLink(1, NOW), tokens(1), 30, NOW)).toEqual({ outcome: 'gone' });
        expect(await store.rotate(expiring.uid, byRefresh('refresh-0'), rotationLink(1, NOW + 10), tokens(1), 30, NOW + 10)).toEqual({ outcome: 'gone' });
        expect(await store.rotate(expiring.uid, byAccess(expiring.accessUid), rotationLink(1, NOW + 10), tokens(1), 30, NOW + 10)).toEqual({ outcome: 'gone' });
        expect(await store.find(unknown, NOW)).toBeNull();
        expect(await store.find(expiring.uid, NOW + 10)).toBeNull();
        expect(await store.list('ns-gone', NOW + 10)).toEqual([]);
      });

      it('lets exactly one of 30 racing rotations of one token win; every other one replays the winner\'s tokens', async () => {
        const created = session({ namespace: 'ns-race', refreshUid: 'refresh-0' });
        await store.create(created, NOW);
        const results = await Promise.all(Array.from({ length: 30 }, (_, i) =>
          store.rotate(created.uid, byRefresh('refresh-0'), rotationLink(`racer-${i}`, NOW + 10), tokens(`racer-${i}`), 30, NOW + 10)));

        const winners = results.flatMap((result, i) => (result.outcome === 'rotated' ? [i] : []));
        expect(winners).toHaveLength(1);
        const winner = `racer-${winners[0]}`;
        const expected = rotated(created, rotationLink(winner, NOW + 10), NOW + 10);
        expect(results[winners[0]]).toEqual({ outcome: 'rotated', session: expected });
        for (const [i, result] of results.entries()) {
          if (i !== winners[0]) expect(result).toEqual({ outcome: 'replayed', session: expected, tokens: tokens(winner) });
        }
        expect(await store.find(created.uid, NOW + 10)).toEqual(expected);
      });

      it('lets one of 30 racing rotations win with a grace window of 0, and the repeats revoke the session', async () => {
        const created = session({ refreshUid: 'refresh-0' });
        await store.create(created, NOW);
        const results = await Promise.all(Array.from({ length: 30 }, (_, i) =>
          store.rotate(created.uid, byRefresh('refresh-0'), rotationLink(`racer-${i}`, NOW + 10), tokens(`racer-${i}`), 0, NOW + 10)));
        const outcomes = results.map((result) => result.outcome);
        expect(outcomes.filter((outcome) => outcome === 'rotated')).toHaveLength(1);
        expect(outcomes.filter((outcome) => outcome === 'reused')).toHaveLength(1);
        expect(outcomes.filter((outcome) => outcome === 'gone')).toHaveLength(28);
        expect(await store.find(created.uid, NOW + 10)).toBeNull();
      });

      it('hands out copies: changing a rotation\'s answers or arguments changes nothing stored', async () => {
        const created = session({ namespace: 'ns-rotate-copies', refreshUid: 'refresh-0' });
        await store.create(created, NOW);
        const link = rotationLink(1, NOW + 10);
        const successors = tokens(1);
        const expected = rotated(created, link, NOW + 10);
        const result = await store.rotate(created.uid, byRefresh('refresh-0'), link, successors, 30, NOW + 10);
        if (result.outcome !== 'rotated') throw new Error(`expected rotated, got ${result.outcome}`);
        (result.session.rotation as { refreshUid: string }).refreshUid = 'tampered';
        result.session.refreshUid = 'tampered';
        link.refreshUid = 'tampered';
        successors.access = 'tampered';

        const found = (await store.find(created.uid, NOW + 10)) as StoredSession;
        expect(found).toEqual(expected);
        (found.rotation as { rotatedAt: number }).rotatedAt = 0;
        const [listed] = await store.list('ns-rotate-copies', NOW + 10);
        (listed.rotation as { accessUid: string }).accessUid = 'tampered';

        const replay = await store.rotate(created.uid, byRefresh('refresh-0'), rotationLink(2, NOW + 11), tokens(2), 30, NOW + 11);
        expect(replay).toEqual({ outcome: 'replayed', session: expected, tokens: tokens(1) });
        if (replay.outcome !== 'replayed') return;
        replay.tokens.refresh = 'tampered';
        (replay.session.rotation as { refreshUid: string }).refreshUid = 'tampered';
        expect(await store.rotate(created.uid, byRefresh('refresh-0'), rotationLink(3, NOW + 12), tokens(3), 30, NOW + 12))
          .toEqual({ outcome: 'replayed', session: expected, tokens: tokens(1) });
        expect(await store.find(created.uid, NOW + 12)).toEqual(expected);
      });
    });

    describe('session cap per namespace', () => {
      it('deletes the oldest sessions beyond the cap at each create, and answers their ids', async () => {
        const created = Array.from({ length: 6 }, (_, i) => session({ namespace: 'ns-cap', createdAt: NOW + i, refreshedAt: NOW + i }));
        const evicted: string[][] = [];
        for (const [i, s] of created.entries()) evicted.push(await store.create(s, NOW + i, { maxPerNamespace: 3 }));

        expect(evicted).toEqual([[], [], [], [created[0].uid], [created[1].uid], [created[2].uid]]);
        expect(uids(await store.list('ns-cap', NOW + 6))).toEqual(uids(created.slice(3)));
        for (const s of created.slice(0, 3)) expect(await store.find(s.uid, NOW + 6)).toBeNull();
        for (const s of created.slice(3)) expect(await store.find(s.uid, NOW + 6)).toEqual(s);
      });

      it('answers the evicted ids oldest first, by createdAt rather than by order of creation', async () => {
        const createdAts = [NOW + 4, NOW + 1, NOW + 5, NOW + 2, NOW + 3];
        const created = createdAts.map((createdAt) => session({ namespace: 'ns-cap-order', createdAt }));
        for (const s of created) expect(await store.create(s, NOW + 5)).toEqual([]);
        const newest = session({ namespace: 'ns-cap-order', createdAt: NOW + 6 });

        // Oldest first: createdAt NOW+1, NOW+2, NOW+3.
        expect(await store.create(newest, NOW + 6, { maxPerNamespace: 3 })).toEqual([created[1].uid, created[3].uid, created[4].uid]);
        expect(uids(await store.list('ns-cap-order', NOW + 6))).toEqual(uids([created[0], created[2], newest]));
      });

      it('never evicts a session without namespace, nor one of another namespace', async () => {
        const loose = Array.from({ length: 4 }, (_, i) => session({ createdAt: NOW + i }));
        for (const s of loose) expect(await store.create(s, NOW + 4, { maxPerNamespace: 1 })).toEqual([]);
        const theirs = [session({ namespace: 'ns-cap-theirs', createdAt: NOW }), session({ namespace: 'ns-cap-theirs', createdAt: NOW + 1 })];
        for (const s of theirs) await store.create(s, NOW + 4);
        const mine = [session({ namespace: 'ns-cap-mine', createdAt: NOW + 2 }), session({ namespace: 'ns-cap-mine', createdAt: NOW + 3 })];
        expect(await store.create(mine[0], NOW + 4, { maxPerNamespace: 1 })).toEqual([]);
        expect(await store.create(mine[1], NOW + 4, { maxPerNamespace: 1 })).toEqual([mine[0].uid]);

        for (const s of [...loose, ...theirs, mine[1]]) expect(await store.find(s.uid, NOW + 4)).toEqual(s);
        expect(uids(await store.list('ns-cap-theirs', NOW + 4))).toEqual(uids(theirs));
      });

      it('counts only live sessions against the cap (expired ones neither count nor come back as evicted)', async () => {
        const expiring = Array.from({ length: 3 }, (_, i) => session({ namespace: 'ns-cap-live', createdAt: NOW + i, expiresAt: NOW + 10 }));
        for (const s of expiring) await store.create(s, NOW + 3);
        const fresh = Array.from({ length: 3 }, (_, i) => session({ namespace: 'ns-cap-live', createdAt: NOW + 10 + i, expiresAt: NOW + 600 }));
        for (const s of fresh) expect(await store.create(s, NOW + 10, { maxPerNamespace: 3 })).toEqual([]);
        expect(uids(await store.list('ns-cap-live', NOW + 10))).toEqual(uids(fresh));
      });

      // Fixed bug: the Redis CREATE script (lib/store/redis/redis-scripts.ts, CREATE / live_members) counts and evicts sessions
      // whose idle deadline has passed at `now` (the index is scored by the absolute expiry `e`, and live_members checks
      // only that the key exists), so live sessions are evicted although the namespace is within its cap.
      it('does not count sessions past their idle deadline against the cap', async () => {
        const older = Array.from({ length: 2 }, (_, i) => session({ namespace: 'ns-cap-idle', createdAt: NOW + i }));
        const idle = Array.from({ length: 2 }, (_, i) => session({ namespace: 'ns-cap-idle', createdAt: NOW + 5 + i, idleExpiresAt: NOW + 20 }));
        for (const s of [...older, ...idle]) await store.create(s, NOW + 10);
        const newest = session({ namespace: 'ns-cap-idle', createdAt: NOW + 20 });

        // Live at NOW + 20: the two older sessions and the new one, which is the cap.
        expect(await store.create(newest, NOW + 20, { maxPerNamespace: 3 })).toEqual([]);
        expect(uids(await store.list('ns-cap-idle', NOW + 20))).toEqual(uids([...older, newest]));
      });
    });

    describe('idle timeout', () => {
      it('treats a session as gone from its idle deadline on, for find, list, relink and rotate, though it expires later', async () => {
        const idle = session({ namespace: 'ns-idle', refreshUid: 'refresh-0', idleExpiresAt: NOW + 30, expiresAt: NOW + 600 });
        await store.create(idle, NOW);
        expect(await store.find(idle.uid, NOW + 29)).toEqual(idle);
        expect(await store.list('ns-idle', NOW + 29)).toEqual([idle]);

        for (const at of [NOW + 30, NOW + 31]) {
          expect(await store.find(idle.uid, at)).toBeNull();
          expect(await store.list('ns-idle', at)).toEqual([]);
          expect(await store.relink(idle.uid, idle.accessUid, rotationLink(1, at, at + 30), at)).toBeNull();
          expect(await store.rotate(idle.uid, byRefresh('refresh-0'), rotationLink(1, at, at + 30), tokens(1), 30, at)).toEqual({ outcome: 'gone' });
          expect(await store.find(idle.uid, at)).toBeNull();
        }
      });

      // Fixed bug: the Redis DELETE, DELETE_NAMESPACE and UNLINK_NAMESPACE_ACCESS scripts (lib/store/redis/redis-scripts.ts) check
      // only the absolute expiry `e`, never the idle deadline `d`: they count (and answer 1 / n for) a session that is
      // already gone by its idle deadline at `now`, which the TokenStore contract says no method may count.
      it('does not count a session past its idle deadline in delete, deleteNamespace or unlinkNamespaceAccess', async () => {
        const idle = [1, 2, 3].map(() => session({ namespace: 'ns-idle-count', idleExpiresAt: NOW + 30 }));
        for (const s of idle) await store.create(s, NOW);
        const counts = {
          unlinkNamespaceAccess: await store.unlinkNamespaceAccess('ns-idle-count', NOW + 30),
          delete: await store.delete(idle[0].uid, NOW + 30),
          deleteNamespace: await store.deleteNamespace('ns-idle-count', NOW + 30),
        };
        expect(counts).toEqual({ unlinkNamespaceAccess: 0, delete: 0, deleteNamespace: 0 });
      });

      it('moves the idle deadline with each relink and rotation', async () => {
        const relinked = session({ refreshUid: 'refresh-0', idleExpiresAt: NOW + 30 });
        const rotating = session({ refreshUid: 'refresh-0', idleExpiresAt: NOW + 30 });
        for (const s of [relinked, rotating]) await store.create(s, NOW);

        const link = rotationLink(1, NOW + 20, NOW + 50);
        expect(await store.relink(relinked.uid, relinked.accessUid, link, NOW + 20)).toMatchObject({ idleExpiresAt: NOW + 50 });
        expect((await store.rotate(rotating.uid, byRefresh('refresh-0'), link, tokens(1), 30, NOW + 20)).outcome).toBe('rotated');
        for (const s of [relinked, rotating]) {
          expect(await store.find(s.uid, NOW + 30)).toMatchObject({ idleExpiresAt: NOW + 50, refreshedAt: NOW + 20 });
          expect(await store.find(s.uid, NOW + 49)).not.toBeNull();
        }
        // A later deadline once more, then the session ends at the last one.
        const again = rotationLink(2, NOW + 45, NOW + 75);
        expect(await store.relink(relinked.uid, link.accessUid, again, NOW + 45)).toMatchObject({ idleExpiresAt: NOW + 75 });
        expect((await store.rotate(rotating.uid, byRefresh('refresh-1'), again, tokens(2), 30, NOW + 45)).outcome).toBe('rotated');
        for (const s of [relinked, rotating]) expect(await store.find(s.uid, NOW + 74)).not.toBeNull();
        for (const s of [relinked, rotating]) expect(await store.find(s.uid, NOW + 75)).toBeNull();
      });

      it('drops the idle deadline for a link without one (idleExpiresAt 0); the absolute expiry still holds', async () => {
        const relinked = session({ refreshUid: 'refresh-0', idleExpiresAt: NOW + 30, expiresAt: NOW + 600 });
        const rotating = session({ refreshUid: 'refresh-0', idleExpiresAt: NOW + 30, expiresAt: NOW + 600 });
        for (const s of [relinked, rotating]) await store.create(s, NOW);

        const link = rotationLink(1, NOW + 20, 0);
        expect(await store.relink(relinked.uid, relinked.accessUid, link, NOW + 20)).toMatchObject({ idleExpiresAt: 0 });
        expect((await store.rotate(rotating.uid, byRefresh('refresh-0'), link, tokens(1), 30, NOW + 20)).outcome).toBe('rotated');
        for (const s of [relinked, rotating]) {
          expect(await store.find(s.uid, NOW + 300)).toMatchObject({ idleExpiresAt: 0, expiresAt: NOW + 600 });
          expect(await store.find(s.uid, NOW + 599)).not.toBeNull();
        }
        for (const s of [relinked, rotating]) expect(await store.find(s.uid, NOW + 600)).toBeNull();
      });

      it('never lets an idle deadline extend a session beyond its absolute expiry', async () => {
        const created = session({ refreshUid: 'refresh-0', idleExpiresAt: NOW + 30, expiresAt: NOW + 100 });
        await store.create(created, NOW);
        expect((await store.rotate(created.uid, byRefresh('refresh-0'), rotationLink(1, NOW + 20, NOW + 500), tokens(1), 30, NOW + 20)).outcome).toBe('rotated');
        expect(await store.find(created.uid, NOW + 99)).toMatchObject({ expiresAt: NOW + 100, idleExpiresAt: NOW + 500 });
        expect(await store.find(created.uid, NOW + 100)).toBeNull();
      });
    });

    describe('deleteNamespace except one session', () => {
      it('keeps exactly the excepted session and answers how many others it deleted', async () => {
        const mine = [session({ namespace: 'ns-except' }), session({ namespace: 'ns-except' }), session({ namespace: 'ns-except' })];
        const theirs = session({ namespace: 'ns-except-other' });
        for (const s of [...mine, theirs]) await store.create(s, NOW);

        expect(await store.deleteNamespace('ns-except', NOW, mine[1].uid)).toBe(2);
        expect(await store.list('ns-except', NOW)).toEqual([mine[1]]);
        expect(await store.find(mine[0].uid, NOW)).toBeNull();
        expect(await store.find(mine[2].uid, NOW)).toBeNull();
        expect(await store.find(theirs.uid, NOW)).toEqual(theirs);
        // Once more: nothing else to delete; the kept session is still there.
        expect(await store.deleteNamespace('ns-except', NOW, mine[1].uid)).toBe(0);
        expect(await store.find(mine[1].uid, NOW)).toEqual(mine[1]);
        // An except of another namespace's session protects nothing here.
        expect(await store.deleteNamespace('ns-except', NOW, theirs.uid)).toBe(1);
        expect(await store.find(theirs.uid, NOW)).toEqual(theirs);
        expect(await store.list('ns-except', NOW)).toEqual([]);
      });
    });

    describe('session metadata', () => {
      it('round-trips user agent, IP, refreshedAt, idle deadline and refresh id exactly through create, find and list', async () => {
        const sessions = [
          session({ namespace: 'ns-meta', userAgent: 'Mozilla/5.0 (X11; Linux x86_64) "quoted" \\ ünïcödé 😀', ip: '203.0.113.7', createdAt: NOW - 100, refreshedAt: NOW - 5 }),
          session({ namespace: 'ns-meta', userAgent: null, ip: '2001:db8::1', idleExpiresAt: NOW + 90, refreshUid: 'refresh-x' }),
          session({ namespace: 'ns-meta', userAgent: 'curl/8.0', ip: null }),
          session({ namespace: 'ns-meta', userAgent: '', ip: '' }),
          session({ namespace: 'ns-meta', userAgent: 'x'.repeat(1000), ip: 'sha256:0f1e2d' }),
        ];
        for (const s of sessions) await store.create(s, NOW);
        for (const s of sessions) expect(await store.find(s.uid, NOW)).toEqual(s);
        const listed = await store.list('ns-meta', NOW);
        expect(listed.sort((a, b) => (a.uid < b.uid ? -1 : 1))).toEqual([...sessions].sort((a, b) => (a.uid < b.uid ? -1 : 1)));
      });

      it('keeps user agent, IP and createdAt through relinks and rotations, which set refreshedAt', async () => {
        const created = session({ refreshUid: 'refresh-0', userAgent: 'ua-1', ip: '198.51.100.1', createdAt: NOW - 50, refreshedAt: NOW - 50 });
        await store.create(created, NOW);
        await store.relink(created.uid, created.accessUid, rotationLink('r', NOW + 5), NOW + 5);
        await store.rotate(created.uid, byRefresh('refresh-0'), rotationLink(1, NOW + 10), tokens(1), 30, NOW + 10);
        expect(await store.find(created.uid, NOW + 10)).toMatchObject({ userAgent: 'ua-1', ip: '198.51.100.1', createdAt: NOW - 50, refreshedAt: NOW + 10 });
      });
    });
  });
}
