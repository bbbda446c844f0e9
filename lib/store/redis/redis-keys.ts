import { createHash, randomBytes } from 'node:crypto';
import { MalconfiguredError } from '../../errors/jwt-sessions.errors.js';

/** 16 hex characters: the hash tag a session id starts with. */
const TAG_LENGTH = 16;
/** What a Redis session id looks like: `<tag>.<128 random bits, base64url>`; anything else never reaches Redis. */
const SESSION_ID = /^[0-9a-f]{16}\.[A-Za-z0-9_-]{22}$/;

/**
 * The key layout. A session id starts with a tag: the hash of its namespace (or a random one without a namespace),
 * and every key of the session and of its namespace's index carries that tag in braces, so they share a Redis
 * Cluster hash slot and one script can change them together. Finding a session from its id is one key: no SCAN.
 * @internal
 */
export class RedisKeys {
  constructor(readonly prefix: string) {
    // A brace in the prefix would become the hash tag and scatter a session's keys over cluster slots.
    if (typeof prefix !== 'string' || /[{}]/.test(prefix)) throw new MalconfiguredError('store.prefix must be a string without braces');
  }

  /** A new session id whose tag groups it with its namespace. */
  sessionId(namespace: string | null): string {
    const tag = namespace === null ? randomBytes(TAG_LENGTH / 2).toString('hex') : namespaceTag(namespace);
    return `${tag}.${randomBytes(16).toString('base64url')}`;
  }

  isSessionId(uid: string): boolean {
    return SESSION_ID.test(uid);
  }

  /** The hash of one session. Mirrored in Lua by `session_key` (redis-scripts.ts). */
  session(uid: string): string {
    return `${this.prefix}s:{${uid.slice(0, TAG_LENGTH)}}${uid.slice(TAG_LENGTH)}`;
  }

  /** The list of a session's last successor tokens, kept for the rotation grace window. */
  successors(uid: string): string {
    return `${this.prefix}g:{${uid.slice(0, TAG_LENGTH)}}${uid.slice(TAG_LENGTH)}`;
  }

  /** The sorted set of the session ids of a tag's namespaces, scored by expiry. */
  index(uid: string): string {
    return this.indexOfTag(uid.slice(0, TAG_LENGTH));
  }

  namespaceIndex(namespace: string): string {
    return this.indexOfTag(namespaceTag(namespace));
  }

  /** SCAN patterns for `deleteAll`: exactly our key shapes, so another application's keys under a similar prefix are left alone. */
  get sessionPattern(): string {
    return `${escapeGlob(this.prefix)}s:{${HEX_TAG_GLOB}}.*`;
  }

  get indexPattern(): string {
    return `${escapeGlob(this.prefix)}n:{${HEX_TAG_GLOB}}`;
  }

  get successorsPattern(): string {
    return `${escapeGlob(this.prefix)}g:{${HEX_TAG_GLOB}}.*`;
  }

  private indexOfTag(tag: string): string {
    return `${this.prefix}n:{${tag}}`;
  }
}

const HEX_TAG_GLOB = '[0-9a-f]'.repeat(TAG_LENGTH);

function namespaceTag(namespace: string): string {
  return createHash('sha256').update(namespace, 'utf8').digest('hex').slice(0, TAG_LENGTH);
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
