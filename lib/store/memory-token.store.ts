import { StoreUnavailableError } from '../errors/jwt-sessions.errors.js';
import { ExpiryQueue } from './expiry-queue.js';
import type { AccessLink, StoredSession } from './stored-session.js';
import { TokenStore } from './token-store.js';

/** Options of the memory store. @publicApi */
export interface MemoryStoreOptions {
  type: 'memory';
  /**
   * Most live sessions kept; a login beyond it answers 503 rather than let logins exhaust the process's memory
   * (a session takes about 400 bytes).
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
  private readonly maxSessions: number;

  constructor(options: Omit<MemoryStoreOptions, 'type'> = {}) {
    super();
    this.maxSessions = options.maxSessions ?? 100_000;
  }

  async create(session: StoredSession, now: number): Promise<void> {
    this.evict(now);
    if (session.expiresAt <= now) return;
    if (this.sessions.size >= this.maxSessions && !this.sessions.has(session.uid)) {
      throw new StoreUnavailableError(`Memory session store is full (${this.maxSessions} sessions)`);
    }
    this.remove(session.uid);
    this.sessions.set(session.uid, { ...session });
    if (session.namespace !== null) this.indexOf(session.namespace).add(session.uid);
    this.deadlines.push(session.expiresAt, session.uid);
  }

  async find(uid: string, now: number): Promise<StoredSession | null> {
    this.evict(now);
    const session = this.sessions.get(uid);
    return session ? { ...session } : null;
  }

  async relink(uid: string, expectedAccessUid: string, link: AccessLink, now: number): Promise<StoredSession | null> {
    this.evict(now);
    const session = this.sessions.get(uid);
    if (session?.accessUid === link.accessUid) return { ...session };
    if (!session || session.accessUid !== expectedAccessUid) return null;
    Object.assign(session, { accessUid: link.accessUid, accessExpiresAt: link.accessExpiresAt, csrf: link.csrf });
    return { ...session };
  }

  async delete(uid: string, now: number): Promise<number> {
    this.evict(now);
    return this.remove(uid) ? 1 : 0;
  }

  async list(namespace: string, now: number): Promise<StoredSession[]> {
    this.evict(now);
    return [...(this.namespaces.get(namespace) ?? [])].map((uid) => ({ ...(this.sessions.get(uid) as StoredSession) }));
  }

  async deleteNamespace(namespace: string, now: number): Promise<number> {
    this.evict(now);
    const uids = [...(this.namespaces.get(namespace) ?? [])];
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
    this.deadlines.clear();
    return count;
  }

  private evict(now: number): void {
    for (const uid of this.deadlines.popDue(now)) {
      const session = this.sessions.get(uid);
      if (session && session.expiresAt <= now) this.remove(uid);
    }
    // Deleted sessions leave their deadline behind; rebuild before those outnumber the live ones.
    if (this.deadlines.size > 2 * this.sessions.size + STALE_DEADLINE_SLACK) {
      this.deadlines.rebuild([...this.sessions.values()].map(({ expiresAt, uid }) => ({ at: expiresAt, key: uid })));
    }
  }

  private remove(uid: string): boolean {
    const session = this.sessions.get(uid);
    if (!session) return false;
    this.sessions.delete(uid);
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
