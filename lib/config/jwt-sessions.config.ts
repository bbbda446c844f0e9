import type { SessionCookieOptions, TokenClaimsOptions } from '../interfaces/jwt-sessions-options.interface.js';
import type { SigningKeys } from '../tokens/signing-keys.js';

/** Header names, lower-cased as Node presents them. */
export interface HeaderNames {
  access: string;
  refresh: string;
  csrf: string;
}

/** Cookie names. */
export interface CookieNames {
  access: string;
  refresh: string;
}

/**
 * The module's options after defaults, validation and key import: what every part of the module reads.
 * Built once at bootstrap; inject it to read cookie or header names.
 * @publicApi
 */
export class JwtSessionsConfig {
  constructor(
    /** @internal Imported keys; never serialized. */
    readonly keys: SigningKeys,
    readonly accessExpiresIn: number,
    readonly refreshExpiresIn: number,
    readonly headers: HeaderNames,
    readonly cookies: CookieNames,
    readonly verify: TokenClaimsOptions,
    readonly maxTokenLength: number,
    readonly cookieOptions: Required<SessionCookieOptions>,
  ) {
    Object.freeze(this);
  }

  get algorithm(): string {
    return this.keys.algorithm;
  }
}
