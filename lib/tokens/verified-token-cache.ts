import type { JWTPayload } from 'jose';

interface Entry {
  payload: JWTPayload;
  /** Unix seconds from which the token no longer verifies (its `exp` plus the leeway). */
  until: number;
}

/**
 * Tokens whose signature and claims were verified, by their exact string (one spelling per token: see
 * `readCompactJws`) and the checks they passed, so a repeat skips jose's WebCrypto verify. Bounded (least recently
 * used first out); an entry never outlives its token's expiry, and the cache lives with the keyring that verified
 * it. It replaces the signature check only: the session is still looked up in the store on every request, so a
 * flushed session is refused at once. Payloads are kept deep-frozen and answered as a fresh top-level object each
 * time, so no caller can change what a later one reads.
 * @internal
 */
export class VerifiedTokenCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly capacity: number) {}

  get(key: string, now: number): JWTPayload | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    if (entry.until <= now) return undefined;
    this.entries.set(key, entry);
    return { ...entry.payload };
  }

  /** Keeps a payload already given to {@link freezePayload}. */
  set(key: string, payload: JWTPayload, until: number): void {
    if (this.capacity === 0) return;
    this.entries.delete(key);
    this.entries.set(key, { payload, until });
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
