import { StoreUnavailableError } from '../errors/jwt-sessions.errors.js';
import { ExpiryQueue } from './expiry-queue.js';
import {
  copySession, liveUntil, type AccessLink, type PresentedToken, type RefreshRelinkResult, type RotationLink, type RotationResult, type StoredSession, type SuccessorTokens,
} from './stored-session.js';
import { TokenStore } from './token-store.js';

/** Options of the memory store. @publicApi */
export interface MemoryStoreOptions {
  type: 'memory';
  /**
   * Most live sessions kept; a login beyond it answers 503 rather than let logins exhaust the process's memory
   * (a session takes about 600 bytes, 800 with a user agent and IP).
   * @default 100000
   */
  maxSessions?: number;
}

/** Stale heap entries (of deleted sessions) tolerated before the heap is rebuilt. */
const STALE_DEADLINE_SLACK = 1024;

/**
 * Sessions in this process's memory: for development, tests and single-instance apps.
 * Each call first frees the sessions that expired (a min-heap of deadlines, no timer per key),
 * so expired entries neither authorize nor pile up. Records are copied in and out, so callers cannot
 * change what is stored.
 * @publicApi
 */
export class MemoryTokenStore extends TokenStore {
  private readonly sessions = new Map<string, StoredSession>();
  private readonly namespaces = new Map<string, Set<string>>();
  private readonly deadlines = new ExpiryQueue();
  /** Successor tokens of each session's last rotation, until its grace window closes. */
  private readonly successors = new Map<string, { tokens: SuccessorTokens; until: number }>();
  private readonly maxSessions: number;

  constructor(options: Omit<MemoryStoreOptions, 'type'> = {}) {
    super();
    this.maxSessions = options.maxSessions ?? 100_000;
  }

  async create(session: StoredSession, now: number, options: { maxPerNamespace?: number } = {}): Promise<string[]> {
    this.evict(now);
    if (liveUntil(session) <= now) return [];
    if (this.sessions.size >= this.maxSessions && !this.sessions.has(session.uid)) {
      throw new StoreUnavailableError(`Memory session store is full (${this.maxSessions} sessions)`);
    }
    this.remove(session.uid);
    this.sessions.set(session.uid, copySession(session));
    this.deadlines.push(liveUntil(session), session.uid);
    if (session.namespace === null) return [];
    const index = this.indexOf(session.namespace);
    index.add(session.uid);
    return this.trim(index, session.uid, options.maxPerNamespace);
  }

  async find(uid: string, now: number): Promise<StoredSession | null> {
    const session = this.lookup(uid, now);
    return session && copySession(session);
  }

  /** The store's own record, without the copy `find` makes: the caller only reads it (see {@link TokenStore.findNow}). */
  override findNow(uid: string, now: number): StoredSession | null | undefined {
    // A subclass whose find adds checks of its own must be asked through it.
    if (this.find !== MemoryTokenStore.prototype.find) return undefined;
    return this.lookup(uid, now);
  }

  private lookup(uid: string, now: number): StoredSession | null {
    this.evict(now);
    return this.sessions.get(uid) ?? null;
  }

  async relink(uid: string, expectedAccessUid: string, link: AccessLink, now: number): Promise<StoredSession | null> {
    this.evict(now);
    const session = this.sessions.get(uid);
    if (session?.accessUid === link.accessUid) return copySession(session);
    if (!session || session.accessUid !== expectedAccessUid) return null;
    this.apply(session, link);
    return copySession(session);
  }

  async relinkByRefreshToken(uid: string, refreshUid: string, link: AccessLink, now: number, stopIfEarly: boolean): Promise<RefreshRelinkResult> {
    this.evict(now);
    const session = this.sessions.get(uid);
    if (!session) return { outcome: 'gone' };
    if (session.accessUid === link.accessUid) return { outcome: 'relinked', session: copySession(session), replacedAccessExpiresAt: 0 };
    if (session.refreshUid !== refreshUid) return { outcome: 'not-current' };
    if (stopIfEarly && session.accessExpiresAt > now) return { outcome: 'early', session: copySession(session) };
    const replacedAccessExpiresAt = session.accessExpiresAt;
    this.apply(session, link);
    return { outcome: 'relinked', session: copySession(session), replacedAccessExpiresAt };
  }

  async rotate(
    uid: string, presented: PresentedToken, link: RotationLink, successors: SuccessorTokens, graceSeconds: number, now: number,
    stopIfEarly = false,
  ): Promise<RotationResult> {
    this.evict(now);
    const session = this.sessions.get(uid);
    if (!session) return { outcome: 'gone' };
    if (session.refreshUid === link.refreshUid) return { outcome: 'rotated', session: copySession(session) };
    const retired = session.rotation;
    if (presented.id === (presented.kind === 'refresh' ? session.refreshUid : session.accessUid)) {
      if (presented.kind === 'access' && session.accessExpiresAt === 0) return { outcome: 'refused' };
      if (stopIfEarly && session.accessExpiresAt > now) return { outcome: 'early', session: copySession(session) };
      // A flushed access token is not retired but dead: it must never replay the successors.
      session.rotation = {
        refreshUid: session.refreshUid, accessUid: session.accessExpiresAt === 0 ? '' : session.accessUid, csrf: session.csrf, rotatedAt: now,
      };
      this.apply(session, link);
      session.refreshUid = link.refreshUid;
      if (graceSeconds > 0) this.successors.set(uid, { tokens: { ...successors }, until: now + graceSeconds });
      else this.successors.delete(uid);
      return { outcome: 'rotated', session: copySession(session) };
    }
    const kept = this.successors.get(uid);
    const previous = presented.kind === 'refresh' ? retired?.refreshUid : retired?.accessUid;
    if (presented.kind === 'access' && presented.id === previous && session.accessExpiresAt === 0) return { outcome: 'refused' };
    // Successors are kept only for the grace window of the last rotation, so they exist only while a repeat may replay.
    if (retired && presented.id === previous && kept !== undefined && kept.until >= now) {
      return { outcome: 'replayed', session: copySession(session), tokens: { ...kept.tokens } };
    }
    this.remove(uid);
    return { outcome: 'reused', namespace: session.namespace };
  }

  async delete(uid: string, now: number): Promise<number> {
    this.evict(now);
    return this.remove(uid) ? 1 : 0;
  }

  async list(namespace: string, now: number): Promise<StoredSession[]> {
    this.evict(now);
    return [...(this.namespaces.get(namespace) ?? [])].map((uid) => copySession(this.sessions.get(uid) as StoredSession));
  }

  async deleteNamespace(namespace: string, now: number, exceptUid?: string): Promise<number> {
    this.evict(now);
    const uids = [...(this.namespaces.get(namespace) ?? [])].filter((uid) => uid !== exceptUid);
    for (const uid of uids) this.remove(uid);
    return uids.length;
  }

  async unlinkNamespaceAccess(namespace: string, now: number): Promise<number> {
    this.evict(now);
    const uids = this.namespaces.get(namespace) ?? new Set<string>();
    for (const uid of uids) (this.sessions.get(uid) as StoredSession).accessExpiresAt = 0;
    return uids.size;
  }

  async deleteAll(now: number): Promise<number> {
    this.evict(now);
    const count = this.sessions.size;
    this.sessions.clear();
    this.namespaces.clear();
    this.successors.clear();
    this.deadlines.clear();
    return count;
  }

  private evict(now: number): void {
    for (const uid of this.deadlines.popDue(now)) {
      const session = this.sessions.get(uid);
      if (session && liveUntil(session) <= now) this.remove(uid);
    }
    // Deleted sessions leave their deadline behind; rebuild before those outnumber the live ones.
    if (this.deadlines.size > 2 * this.sessions.size + STALE_DEADLINE_SLACK) {
      this.deadlines.rebuild([...this.sessions.values()].map((session) => ({ at: liveUntil(session), key: session.uid })));
    }
  }

  /** Applies a refresh; a moved idle deadline gets its own heap entry (the old one is then stale). */
  private apply(session: StoredSession, link: AccessLink): void {
    const before = liveUntil(session);
    Object.assign(session, {
      accessUid: link.accessUid, accessExpiresAt: link.accessExpiresAt, csrf: link.csrf,
      refreshedAt: link.refreshedAt, idleExpiresAt: link.idleExpiresAt,
    });
    if (liveUntil(session) !== before) this.deadlines.push(liveUntil(session), session.uid);
  }

  /** Deletes the oldest sessions of a namespace beyond `max`, never the one just created; answers their ids. */
  private trim(index: Set<string>, created: string, max: number | undefined): string[] {
    if (max === undefined || index.size <= max) return [];
    const oldest = [...index]
      .filter((uid) => uid !== created)
      .map((uid) => this.sessions.get(uid) as StoredSession)
      .sort((a, b) => a.createdAt - b.createdAt || (a.uid < b.uid ? -1 : 1))
      .slice(0, index.size - max)
      .map((session) => session.uid);
    for (const uid of oldest) this.remove(uid);
    return oldest;
  }

  private remove(uid: string): boolean {
    const session = this.sessions.get(uid);
    if (!session) return false;
    this.sessions.delete(uid);
    this.successors.delete(uid);
    if (session.namespace !== null) {
      const index = this.namespaces.get(session.namespace);
      index?.delete(uid);
      if (index?.size === 0) this.namespaces.delete(session.namespace);
    }
    return true;
  }

  private indexOf(namespace: string): Set<string> {
    let index = this.namespaces.get(namespace);
    if (!index) this.namespaces.set(namespace, (index = new Set()));
    return index;
  }
}

