import { Logger, type OnModuleDestroy } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { MalconfiguredError, StoreUnavailableError } from '../../errors/jwt-sessions.errors.js';
import {
  liveUntil, type AccessLink, type PresentedToken, type RefreshRelinkResult, type RotationLink, type RotationResult, type StoredSession, type SuccessorTokens,
} from '../stored-session.js';
import { TokenStore } from '../token-store.js';
import { createRedisClient } from './redis-client.factory.js';
import { LookupBatch } from './lookup-batch.js';
import { RedisKeys } from './redis-keys.js';
import * as scripts from './redis-scripts.js';
import type { RedisStoreOptions } from './redis-store.options.js';

type Fields = Array<string | null>;

/** A Lua script with its SHA1, so it is sent whole only when Redis does not know it yet. */
interface Script {
  source: string;
  sha: string;
}

function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

const SCRIPTS = {
  find: script(scripts.FIND),
  create: script(scripts.CREATE),
  relink: script(scripts.RELINK),
  relinkByRefresh: script(scripts.RELINK_BY_REFRESH),
  rotate: script(scripts.ROTATE),
  delete: script(scripts.DELETE),
  deleteNamespace: script(scripts.DELETE_NAMESPACE),
  unlinkNamespaceAccess: script(scripts.UNLINK_NAMESPACE_ACCESS),
  list: script(scripts.LIST),
};

/** What a FIND of several keys answers when Redis refuses keys of several slots in one call. */
const CROSS_SLOT = Symbol('cross-slot');

/** How long one store call may take before it answers 503, unless the options say otherwise. */
const DEFAULT_CALL_TIMEOUT = 2000;

/** How long a graceful quit may take at shutdown before the connection is cut. */
const CLOSE_TIMEOUT = 1000;

/** Keys deleted per SCAN batch in `deleteAll`. */
const SCAN_BATCH = 500;

/**
 * The production store, on ioredis: one hash per session, one sorted set per namespace index, every key with a
 * TTL no longer than its session's life. Each operation is one command or one Lua script, so it is atomic and
 * one round trip; finding a session never scans, and a namespace costs as much as its own sessions.
 * Works on a single server, Sentinel, or Redis Cluster (hash tags keep a session and its index in one slot).
 * When Redis fails or times out, calls throw `StoreUnavailableError` (503) and the outage is logged once.
 * @publicApi
 */
export class RedisTokenStore extends TokenStore implements OnModuleDestroy {
  private readonly keys: RedisKeys;
  private readonly logger = new Logger('JwtSessions');
  private readonly ownsClient: boolean;
  private readonly callTimeout: number;
  private healthy = true;
  /** Lookups batched per turn of the event loop; not on a cluster, where each session has a slot of its own. */
  private lookups: LookupBatch<Fields> | null;

  /**
   * @param client an ioredis client or cluster, without a `keyPrefix` of its own (use `prefix`)
   * @param options `prefix` of every key (default `jwt_`); `commandTimeout`: ms before a call answers 503
   *   (default 2000); `ownsClient`: disconnect it when the app shuts down
   */
  constructor(
    readonly client: Redis | Cluster,
    options: { prefix?: string; commandTimeout?: number; ownsClient?: boolean } = {},
  ) {
    super();
    assertNoKeyPrefix(client);
    this.keys = new RedisKeys(options.prefix ?? 'jwt_');
    this.callTimeout = options.commandTimeout ?? DEFAULT_CALL_TIMEOUT;
    this.ownsClient = options.ownsClient ?? false;
    this.lookups = client.isCluster ? null : new LookupBatch((keys) => this.findMany(keys));
    if (this.ownsClient) client.on('error', (error: Error) => this.reportFailure(error));
  }

  /** Builds the store from module options: the user's client, or one it creates (and closes at shutdown). */
  static fromOptions(options: RedisStoreOptions): RedisTokenStore {
    const { prefix, commandTimeout } = options;
    if (options.client) return new RedisTokenStore(options.client, { prefix, commandTimeout });
    const client = createRedisClient(options);
    try {
      return new RedisTokenStore(client, { prefix, commandTimeout, ownsClient: true });
    } catch (error) {
      // The app will not start: the client made for it must not keep the process alive.
      client.disconnect();
      throw error;
    }
  }

  override createSessionId(namespace: string | null): string {
    return this.keys.sessionId(namespace);
  }

  async create(session: StoredSession, now: number, options: { maxPerNamespace?: number } = {}): Promise<string[]> {
    const evicted = await this.run(SCRIPTS.create, [this.keys.session(session.uid), this.keys.index(session.uid)], [
      now, session.uid, session.expiresAt, liveUntil(session), options.maxPerNamespace ?? 0, session.namespace ?? '', this.keys.prefix,
      ...sessionFields(session),
    ]);
    return Array.isArray(evicted) ? evicted.map(String) : [];
  }

  async find(uid: string, now: number): Promise<StoredSession | null> {
    if (!this.keys.isSessionId(uid)) return null;
    const key = this.keys.session(uid);
    const fields = this.lookups ? await this.lookups.read(key) : (await this.findMany([key]))[0];
    return this.parse(uid, fields, now);
  }

  /** Reads sessions in one FIND call: each one's fields, or [] for a damaged reply (all of them, if the rows don't add up). */
  private async findMany(keys: string[]): Promise<Fields[]> {
    const reply = await this.call(() => this.evaluate(SCRIPTS.find, keys, []).catch((error: unknown) => {
      if (keys.length > 1 && error instanceof Error && error.message.startsWith('CROSSSLOT')) return CROSS_SLOT;
      throw error;
    }));
    if (reply === CROSS_SLOT) return this.findOneByOne(keys);
    const rows = parseRows(reply);
    return rows.length === keys.length ? rows.map(fieldsOf) : keys.map(() => []);
  }

  /**
   * A server in cluster mode behind a plain client (a one-shard cluster, a proxy that checks slots) refuses keys of
   * several slots in one call: from then on, lookups go one by one, as on a cluster client.
   */
  private findOneByOne(keys: string[]): Promise<Fields[]> {
    if (this.lookups !== null) {
      this.lookups = null;
      this.logger.warn('Redis refuses keys of several hash slots in one call (cluster mode behind a plain client): session lookups are no longer batched');
    }
    return Promise.all(keys.map(async (key) => (await this.findMany([key]))[0]));
  }

  async relink(uid: string, expectedAccessUid: string, link: AccessLink, now: number): Promise<StoredSession | null> {
    if (!this.keys.isSessionId(uid)) return null;
    const fields = await this.run(SCRIPTS.relink, [this.keys.session(uid)], [expectedAccessUid, ...linkArgs(link), now]);
    return fields === null ? null : this.parse(uid, fields as Fields, now);
  }

  async relinkByRefreshToken(uid: string, refreshUid: string, link: AccessLink, now: number, stopIfEarly: boolean): Promise<RefreshRelinkResult> {
    if (!this.keys.isSessionId(uid)) return { outcome: 'gone' };
    const reply = await this.run(SCRIPTS.relinkByRefresh, [this.keys.session(uid)], [refreshUid, ...linkArgs(link), now, stopIfEarly ? '1' : '0']) as
      [string, ...unknown[]];
    const [outcome] = reply;
    if (outcome === 'not-current') return { outcome };
    const session = outcome === 'relinked' || outcome === 'early' ? this.parse(uid, reply[reply.length - 1] as Fields, now) : null;
    if (session === null) return { outcome: 'gone' };
    return outcome === 'early' ? { outcome, session } : { outcome: 'relinked', session, replacedAccessExpiresAt: Number(reply[1]) || 0 };
  }

  async rotate(
    uid: string, presented: PresentedToken, link: RotationLink, successors: SuccessorTokens, graceSeconds: number, now: number,
    stopIfEarly = false,
  ): Promise<RotationResult> {
    if (!this.keys.isSessionId(uid)) return { outcome: 'gone' };
    const reply = await this.run(SCRIPTS.rotate, [this.keys.session(uid), this.keys.index(uid), this.keys.successors(uid)], [
      presented.kind === 'refresh' ? 'r' : 'a', presented.id, link.refreshUid, ...linkArgs(link), now, graceSeconds,
      successors.access, successors.refresh, uid, stopIfEarly ? '1' : '0',
    ]) as [string, ...unknown[]];
    const [outcome] = reply;
    if (outcome === 'reused') return { outcome, namespace: reply[1] ? String(reply[1]) : null };
    if (outcome === 'refused') return { outcome };
    const session = outcome === 'rotated' || outcome === 'replayed' || outcome === 'early' ? this.parse(uid, reply[reply.length - 1] as Fields, now) : null;
    if (session === null) return { outcome: 'gone' };
    if (outcome === 'rotated' || outcome === 'early') return { outcome, session };
    return { outcome: 'replayed', session, tokens: { access: String(reply[1]), refresh: String(reply[2]) } };
  }

  async delete(uid: string, now: number): Promise<number> {
    if (!this.keys.isSessionId(uid)) return 0;
    return Number(await this.run(SCRIPTS.delete, [this.keys.session(uid), this.keys.index(uid), this.keys.successors(uid)], [uid, now]));
  }

  async list(namespace: string, now: number): Promise<StoredSession[]> {
    const rows = (await this.runForNamespace(SCRIPTS.list, namespace, now)) as Fields[];
    return rows
      .map(([uid, ...fields]) => (uid ? this.parse(uid, fields, now) : null))
      .filter((session): session is StoredSession => session !== null);
  }

  async deleteNamespace(namespace: string, now: number, exceptUid?: string): Promise<number> {
    return Number(await this.runForNamespace(SCRIPTS.deleteNamespace, namespace, now, exceptUid ?? ''));
  }

  async unlinkNamespaceAccess(namespace: string, now: number): Promise<number> {
    return Number(await this.runForNamespace(SCRIPTS.unlinkNamespaceAccess, namespace, now));
  }

  /** Scans every master for this store's keys (the only SCAN, and never on a request path). */
  async deleteAll(now: number): Promise<number> {
    // A cluster client knows its nodes only once connected; a first command waits for that.
    await this.call(() => this.client.ping());
    const nodes = this.client.isCluster ? (this.client as Cluster).nodes('master') : [this.client as Redis];
    let live = 0;
    // Indexes first: a login landing mid-way then leaves at worst an index entry without its session (dropped
    // lazily), never a live session missing from its namespace's index.
    for (const node of nodes) await this.deleteMatching(node, this.keys.indexPattern, now, false);
    for (const node of nodes) live += await this.deleteMatching(node, this.keys.sessionPattern, now, true);
    // Successors last: a rotation landing mid-way leaves none behind its deleted session.
    for (const node of nodes) await this.deleteMatching(node, this.keys.successorsPattern, now, false);
    return live;
  }

  async onModuleDestroy(): Promise<void> {
    if (!this.ownsClient || this.client.status === 'end') return;
    // quit() lets pending commands finish; the socket closes a moment later, and the app should not outlive it.
    // A client still reconnecting would hold quit() until Redis answers (and may never emit 'end'):
    // give it a grace period, then cut the connection and stop its reconnecting.
    let timer: NodeJS.Timeout | undefined;
    const ended = new Promise<void>((resolve) => this.client.once('end', () => resolve()));
    const graceOver = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_TIMEOUT)));
    this.client.quit().catch(() => undefined);
    const how = await Promise.race([ended.then(() => 'ended'), graceOver.then(() => 'timed out')]);
    clearTimeout(timer);
    // Only a client that did not end needs cutting; disconnecting an ended one would hold the process ~2 s.
    if (how === 'timed out') this.client.disconnect(false);
  }

  /** Deletes the keys matching a pattern on one node; for session keys, answers how many were live. */
  private async deleteMatching(node: Redis, pattern: string, now: number, countLive: boolean): Promise<number> {
    let cursor = '0';
    let live = 0;
    do {
      const [next, keys] = await this.call(() => node.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_BATCH));
      cursor = next;
      if (keys.length === 0) continue;
      const pipeline = node.pipeline();
      for (const key of keys) (countLive ? pipeline.hget(key, 'e') : pipeline).del(key);
      const replies = (await this.call(() => pipeline.exec())) ?? [];
      // A MOVED or ASK while resharding must not pass for success: flushAll is a security operation.
      const failed = replies.find(([error]) => error);
      if (failed) this.fail(failed[0]);
      if (!countLive) continue;
      for (let i = 0; i < replies.length; i += 2) {
        const expiry = replies[i]?.[1];
        if (typeof expiry === 'string' && Number(expiry) > now) live++;
      }
    } while (cursor !== '0');
    return live;
  }

  private runForNamespace(target: Script, namespace: string, now: number, ...extra: string[]): Promise<unknown> {
    return this.run(target, [this.keys.namespaceIndex(namespace)], [namespace, now, this.keys.prefix, ...extra]);
  }

  private run(target: Script, keys: string[], args: Array<string | number>): Promise<unknown> {
    return this.call(() => this.evaluate(target, keys, args));
  }

  /** EVALSHA, or EVAL when Redis does not know the script yet (a restart, SCRIPT FLUSH). */
  private async evaluate(target: Script, keys: string[], args: Array<string | number>): Promise<unknown> {
    try {
      return await this.client.evalsha(target.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return this.client.eval(target.source, keys.length, ...keys, ...args);
    }
  }

  /**
   * Runs one Redis call within the store's deadline (whatever the client's own settings: a cluster's offline queue
   * has no timeout); any failure becomes a 503, and the outage (and the recovery) is logged once.
   */
  private async call<T>(command: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.callTimeout} ms`)), this.callTimeout);
    });
    try {
      const result = await Promise.race([command(), deadline]);
      if (!this.healthy) {
        this.healthy = true;
        this.logger.log('Redis session store is answering again');
      }
      return result;
    } catch (error) {
      this.fail(error);
    } finally {
      clearTimeout(timer);
    }
  }

  private fail(error: unknown): never {
    this.reportFailure(error);
    throw new StoreUnavailableError('Session store is unavailable');
  }

  private reportFailure(error: unknown): void {
    if (!this.healthy) return;
    this.healthy = false;
    this.logger.error(`Redis session store is unavailable: ${(error as Error)?.message ?? error}; guarded requests answer 503 until it is back`);
  }

  /** Turns an HMGET reply into a session, checking its shape; a damaged record authorizes nothing. */
  private parse(uid: string, fields: Fields, now: number): StoredSession | null {
    const [csrf, accessUid, accessExpiresAt, expiresAt, createdAt, namespace, refreshByAccess,
      refreshedAt, idleExpiresAt, refreshUid, retiredRefresh, retiredAccess, retiredCsrf, rotatedAt, userAgent, ip] = fields;
    if (fields.length !== scripts.SESSION_FIELDS.length || fields.slice(0, 7).some((field) => typeof field !== 'string')) return null;
    const times = [accessExpiresAt, expiresAt, createdAt, refreshedAt ?? createdAt, idleExpiresAt ?? '0', rotatedAt ?? '0'].map(Number);
    if (!times.every(Number.isSafeInteger)) {
      this.logger.warn(`Ignoring a damaged session record (${this.keys.session(uid)})`);
      return null;
    }
    const session: StoredSession = {
      uid,
      namespace: namespace ? namespace : null,
      csrf: csrf as string,
      accessUid: accessUid as string,
      accessExpiresAt: times[0],
      expiresAt: times[1],
      createdAt: times[2],
      refreshByAccessAllowed: refreshByAccess === '1',
      refreshedAt: times[3],
      idleExpiresAt: times[4],
      refreshUid: refreshUid ?? '',
      rotation: retiredRefresh === null
        ? null
        : { refreshUid: retiredRefresh, accessUid: retiredAccess ?? '', csrf: retiredCsrf ?? '', rotatedAt: times[5] },
      userAgent: userAgent ?? null,
      ip: ip ?? null,
    };
    return liveUntil(session) > now ? session : null;
  }
}

/** The FIND script's JSON reply as one row per key; anything else is a damaged reply, which authorizes nothing. */
function parseRows(reply: unknown): unknown[] {
  try {
    const rows: unknown = typeof reply === 'string' ? JSON.parse(reply) : null;
    return Array.isArray(rows) ? rows : [];
  } catch {
    return [];
  }
}

/** Where each field goes in HMGET order. */
const FIELD_POSITION = new Map<unknown, number>(scripts.SESSION_FIELDS.map((field, position) => [field, position]));

/** One FIND row (HGETALL's field/value pairs) in HMGET order, null for a missing field; anything else is damaged. */
function fieldsOf(row: unknown): Fields {
  if (!Array.isArray(row) || row.length === 0) return [];
  const fields: Fields = new Array<string | null>(scripts.SESSION_FIELDS.length).fill(null);
  for (let i = 0; i + 1 < row.length; i += 2) {
    const position = FIELD_POSITION.get(row[i]);
    const value: unknown = row[i + 1];
    if (position !== undefined && typeof value === 'string') fields[position] = value;
  }
  return fields;
}

/** The fields a new session is written with: optional ones only when set, to keep records small. */
function sessionFields(session: StoredSession): string[] {
  const fields: Array<[string, string | number | null]> = [
    ['c', session.csrf], ['a', session.accessUid], ['x', session.accessExpiresAt], ['e', session.expiresAt],
    ['t', session.createdAt], ['n', session.namespace ?? ''], ['r', session.refreshByAccessAllowed ? '1' : '0'],
    ['l', session.refreshedAt], ['d', session.idleExpiresAt || null], ['f', session.refreshUid || null],
    ['p', session.rotation?.refreshUid ?? null], ['q', session.rotation?.accessUid ?? null], ['k', session.rotation?.csrf ?? null],
    ['o', session.rotation?.rotatedAt ?? null],
    ['u', session.userAgent], ['i', session.ip],
  ];
  return fields.filter(([, value]) => value !== null).flatMap(([field, value]) => [field, String(value)]);
}

/** A refresh's fields as RELINK and ROTATE take them: a, x, c, l, d ('' without idle timeout). */
function linkArgs(link: AccessLink): Array<string | number> {
  return [link.accessUid, link.accessExpiresAt, link.csrf, link.refreshedAt, link.idleExpiresAt || ''];
}

/** ioredis would prefix KEYS but not the keys our scripts build or our SCAN patterns: refuse rather than miss sessions. */
function assertNoKeyPrefix(client: Redis | Cluster): void {
  const options = client.options as { keyPrefix?: string; redisOptions?: { keyPrefix?: string } };
  if (options.keyPrefix || options.redisOptions?.keyPrefix) {
    throw new MalconfiguredError('store: give the key prefix as the store\'s prefix option, not as an ioredis keyPrefix');
  }
}
