import type { TokenClaimsOptions } from '../interfaces/jwt-sessions-options.interface.js';
import type { JsonWebKeySet, Keyring } from '../tokens/keyring.js';

/** Header names, lower-cased as Node presents them. */
export interface HeaderNames {
  access: string;
  refresh: string;
  csrf: string;
}

/** Cookie names, with their `__Host-` / `__Secure-` prefix when `cookieOptions.hostPrefix` is on. */
export interface CookieNames {
  access: string;
  refresh: string;
}

/** Cookie attributes and screening after defaults (see `SessionCookieOptions`). */
export interface CookieSettings {
  secure: boolean;
  sameSite: 'lax' | 'strict' | 'none';
  refreshPath: string;
  rejectCrossSite: boolean;
  trustedOrigins: ReadonlySet<string>;
}

/** How sessions live: rotation, grace window, idle timeout and the per-namespace cap (0 when off). */
export interface SessionPolicy {
  rotateRefreshTokens: boolean;
  refreshGracePeriod: number;
  idleTimeout: number;
  maxSessionsPerNamespace: number;
}

/**
 * The module's options after defaults, validation and key import: what every part of the module reads.
 * Built once at bootstrap; inject it to read cookie or header names.
 * @publicApi
 */
export class JwtSessionsConfig {
  constructor(
    /** @internal Imported keys; never serialized. */
    readonly keys: Keyring,
    readonly accessExpiresIn: number,
    readonly refreshExpiresIn: number,
    readonly headers: HeaderNames,
    readonly cookies: CookieNames,
    readonly verify: TokenClaimsOptions,
    readonly maxTokenLength: number,
    readonly cookieOptions: CookieSettings,
    readonly policy: SessionPolicy,
    /** Verified tokens remembered so a repeat skips the signature check; 0 turns the cache off. */
    readonly verifiedTokenCacheSize: number,
  ) {
    Object.freeze(this);
  }

  /** The algorithm new tokens are signed with (the current key's). */
  get algorithm(): string {
    return this.keys.signer.algorithm;
  }

  /**
   * The public verification keys as a JSON Web Key Set, for services that verify our tokens themselves; empty for
   * HMAC keys, which are never published. Serve it with the `jwksPath` module option, or from a route of your own.
   */
  get jwks(): JsonWebKeySet {
    return this.keys.jwks;
  }
}
