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
 * flushed session is refused at once. Answers copies, so no caller can change what a later one reads.
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
    return structuredClone(entry.payload);
  }

  set(key: string, payload: JWTPayload, until: number): void {
    if (this.capacity === 0) return;
    this.entries.delete(key);
    this.entries.set(key, { payload: structuredClone(payload), until });
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
  }

  get size(): number {
    return this.entries.size;
  }
}
