import type { JWTPayload } from 'jose';

interface Entry {
  payload: JWTPayload;
  /** For each set of checks the token passed: the Unix second from which it no longer verifies (`exp` plus leeway). */
  passed: Map<string, number>;
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
    const until = entry?.passed.get(checks);
    if (entry === undefined || until === undefined) return undefined;
    if (until <= now) {
      entry.passed.delete(checks);
      if (entry.passed.size === 0) this.entries.delete(token);
      return undefined;
    }
    return { ...entry.payload };
  }

  /** Keeps a payload already given to {@link freezePayload}: one token's bytes always carry the same payload. */
  set(token: string, checks: string, payload: JWTPayload, until: number): void {
    if (this.capacity === 0) return;
    const entry = this.entries.get(token);
    if (entry !== undefined) {
      if (entry.passed.size >= MAX_CHECKS_PER_TOKEN) entry.passed.clear();
      entry.passed.set(checks, until);
      return;
    }
    this.entries.set(token, { payload, passed: new Map([[checks, until]]) });
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
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
