import type { JWTPayload } from 'jose';

/**
 * A verified token: its payload, and for each set of checks it passed the Unix second from which it no longer
 * verifies (`exp` plus leeway). Most tokens only ever meet the module's checks, so the first set is kept inline and a
 * hit reads no second table; routes with claims of their own add theirs to `others`.
 */
interface Entry {
  payload: JWTPayload;
  checks: string;
  until: number;
  others: Map<string, number> | undefined;
}

/** Sets of checks remembered per token; an app has a handful (one per distinct route claims), never more than this. */
const MAX_CHECKS_PER_TOKEN = 8;

/**
 * Tokens whose signature and claims were verified, by their exact string (one spelling per token: see
 * `readCompactJws`) and, within it, the checks they passed, so a repeat skips jose's WebCrypto verify. Bounded: the
 * oldest entry goes first (a hit does not reorder, which keeps hits cheap; an evicted token is verified again once).
 * An entry never outlives its token's expiry, and the cache lives with the keyring that verified it. It replaces the
 * signature check only: the session is still looked up in the store on every request, so a flushed session is
 * refused at once. Payloads are kept deep-frozen and answered as a fresh top-level object each time, so no caller
 * can change what a later one reads.
 * @internal
 */
export class VerifiedTokenCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly capacity: number) {}

  get(token: string, checks: string, now: number): JWTPayload | undefined {
    const entry = this.entries.get(token);
    if (entry === undefined) return undefined;
    const until = entry.checks === checks ? entry.until : entry.others?.get(checks);
    if (until === undefined) return undefined;
    if (until <= now) {
      this.forget(token, entry, checks);
      return undefined;
    }
    return { ...entry.payload };
  }

  /** Keeps a payload already given to {@link freezePayload}: one token's bytes always carry the same payload. */
  set(token: string, checks: string, payload: JWTPayload, until: number): void {
    if (this.capacity === 0) return;
    const entry = this.entries.get(token);
    if (entry === undefined) {
      this.entries.set(token, { payload, checks, until, others: undefined });
      if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
    } else if (entry.checks === checks) {
      entry.until = until;
    } else if (entry.others?.has(checks) || 1 + (entry.others?.size ?? 0) < MAX_CHECKS_PER_TOKEN) {
      (entry.others ??= new Map()).set(checks, until);
    } else {
      // Full: start over with these checks alone.
      entry.checks = checks;
      entry.until = until;
      entry.others = undefined;
    }
  }

  /** Drops one set of checks a token passed, and the token once it has none left. */
  private forget(token: string, entry: Entry, checks: string): void {
    if (entry.checks !== checks) {
      entry.others?.delete(checks);
      return;
    }
    const next = entry.others?.entries().next().value;
    if (next === undefined) {
      this.entries.delete(token);
      return;
    }
    entry.others?.delete(next[0]);
    [entry.checks, entry.until] = next;
  }

  get size(): number {
    return this.entries.size;
  }
}

/**
 * Freezes a verified payload all the way down, so it can be shared: every caller gets its own top-level copy, and
 * the values nested in it (arrays, objects) are read-only. @internal
 */
export function freezePayload<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const nested of Object.values(value)) freezePayload(nested);
    Object.freeze(value);
  }
  return value;
}
