import type { KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import type { MemoryStoreOptions } from '../store/memory-token.store.js';
import type { RedisStoreOptions } from '../store/redis/redis-store.options.js';
import type { TokenStore } from '../store/token-store.js';
import type { Clock } from '../clock/clock.js';

/** Signing algorithms the module accepts (`none` is never one of them). @publicApi */
export type JwtAlgorithm =
  | 'HS256' | 'HS384' | 'HS512'
  | 'RS256' | 'RS384' | 'RS512'
  | 'PS256' | 'PS384' | 'PS512'
  | 'ES256' | 'ES384' | 'ES512'
  | 'EdDSA';

/** Key material: a PEM string (asymmetric) or secret string (HMAC), raw bytes (HMAC), a JWK, or a Node `KeyObject`. @publicApi */
export type KeyMaterial = string | Uint8Array | JWK | KeyObject;

/**
 * One key of a keyring ({@link JwtSessionsModuleOptions.keys}).
 * @publicApi
 */
export interface SigningKeyOptions {
  /**
   * Key id, written in the `kid` header of the tokens this key signs; a token is verified only with the key its
   * `kid` names. One key of a keyring may go without (it verifies tokens without `kid`, such as those signed
   * before the keyring was introduced).
   */
  kid?: string;
  /** This key's algorithm; defaults to the module's `algorithm`. */
  algorithm?: JwtAlgorithm;
  /** HMAC secret. */
  signingKey?: KeyMaterial;
  /** Private key: required for the first (signing) key of an asymmetric algorithm, optional for the others. */
  privateKey?: KeyMaterial;
  /** Public key: enough for a key that only verifies. */
  publicKey?: KeyMaterial;
}

/** Claims checked when a token is verified (global, per route, or per call). @publicApi */
export interface TokenClaimsOptions {
  /** Accepted `iss` values; when set, a token without `iss` is refused. */
  issuer?: string | string[];
  /** Accepted `aud` values (any one matches); when set, a token without `aud` is refused. */
  audience?: string | string[];
  /** Required `sub`. */
  subject?: string;
  /**
   * Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
   * @default 0
   */
  leeway?: number;
}

/** Where a guard looks for a token. `auto` reads the header first, then the cookie (the gem's default). @publicApi */
export type TokenTransport = 'auto' | 'header' | 'cookie';

/**
 * The session cookies that `SessionCookies` writes (always HttpOnly, no Domain), and how cookie-borne requests are
 * screened. @publicApi
 */
export interface SessionCookieOptions {
  /**
   * Send the cookies over HTTPS only. Turn off for local development over plain HTTP.
   * @default true
   */
  secure?: boolean;
  /** `'none'` needs `secure`. @default 'lax' */
  sameSite?: 'lax' | 'strict' | 'none';
  /**
   * Prefix the cookie names with `__Host-`, so browsers accept them only from this host, over HTTPS, for the whole
   * site (a refresh cookie limited by `refreshPath` gets `__Secure-`, as `__Host-` requires `Path=/`). Needs `secure`.
   * @default false
   */
  hostPrefix?: boolean;
  /**
   * Path the refresh cookie is sent to, for example `/refresh`: the browser then sends the long-lived token to the
   * refresh route only. Routes outside it cannot read the refresh cookie.
   * @default '/'
   */
  refreshPath?: string;
  /**
   * Defence in depth next to the CSRF token: refuse (401) an unsafe request authenticated by a cookie whose
   * `Sec-Fetch-Site` header says `cross-site`, or whose `Origin` is `null` or another origin than the `Host` it was
   * sent to, unless that origin is listed in `trustedOrigins`. Requests without either header pass to the CSRF check.
   * @default false
   */
  rejectCrossSite?: boolean;
  /** Origins (`https://app.example.com`) allowed to send cookie-authenticated unsafe requests from elsewhere. */
  trustedOrigins?: string[];
}

/**
 * Options of {@link JwtSessionsModule}. Defaults are the gem's.
 * @publicApi
 */
export interface JwtSessionsModuleOptions {
  /**
   * Signing algorithm.
   * @default 'HS256'
   */
  algorithm?: JwtAlgorithm;
  /** HMAC secret (HS256/384/512): at least as many bytes as the hash output (32, 48, 64). */
  signingKey?: KeyMaterial;
  /** Private key for RS/PS/ES/EdDSA signing: PEM (PKCS#8), JWK or `KeyObject`. */
  privateKey?: KeyMaterial;
  /** Public key for verification: PEM (SPKI), JWK or `KeyObject`. Derived from `privateKey` when omitted. */
  publicKey?: KeyMaterial;
  /**
   * A keyring, instead of `signingKey` / `privateKey` / `publicKey`: the first key signs every new token, and every
   * key verifies the tokens whose `kid` names it. To rotate, put the new key first and keep the old one until the
   * tokens it signed have expired (the refresh lifetime); nobody is logged out.
   * @example
   * ```ts
   * keys: [
   *   { kid: '2026-12', privateKey: process.env.JWT_KEY_DEC },
   *   { kid: '2026-11', publicKey: process.env.JWT_PUBLIC_KEY_NOV },
   * ]
   * ```
   */
  keys?: SigningKeyOptions[];
  /**
   * Access token lifetime in seconds.
   * @default 3600
   */
  accessExpiresIn?: number;
  /**
   * Refresh token (and session) lifetime in seconds.
   * @default 604800
   */
  refreshExpiresIn?: number;
  /**
   * Rotate refresh tokens (RFC 9700): each refresh and refresh by access answers a new refresh token and retires the
   * one presented; presenting a retired one again, after the grace window, revokes the whole session (reuse
   * detection). Off by default, as in the gem, where a refresh token lives as long as its session.
   * @default false
   */
  rotateRefreshTokens?: boolean;
  /**
   * With rotation, how long (seconds) a repeat of the same refresh (two tabs, a retried request) gets the same new
   * tokens instead of counting as reuse. 0 disables the window. At most 300.
   * @default 5
   */
  refreshGracePeriod?: number;
  /**
   * End a session that has not been refreshed (or logged in) for this many seconds, enforced by the store. A session
   * is "used" when it refreshes, so it must be longer than `accessExpiresIn`. Off by default.
   */
  idleTimeout?: number;
  /** Keep at most this many sessions per namespace: a login beyond it ends the namespace's oldest sessions. */
  maxSessionsPerNamespace?: number;
  /** @default 'Authorization' */
  accessHeader?: string;
  /** @default 'X-Refresh-Token' */
  refreshHeader?: string;
  /** @default 'X-CSRF-Token' */
  csrfHeader?: string;
  /** @default 'jwt_access' */
  accessCookie?: string;
  /** @default 'jwt_refresh' */
  refreshCookie?: string;
  /** Attributes of the session cookies the library writes. */
  cookieOptions?: SessionCookieOptions;
  /** Claims verified on every token (the gem's `jwt_options`). Per-route claims override these field by field. */
  verify?: TokenClaimsOptions;
  /**
   * Longest token, cookie or CSRF value read from a request, in characters; longer ones are refused unread.
   * @default 8192
   */
  maxTokenLength?: number;
  /**
   * How many verified tokens to remember, so that a token seen again skips the signature check (about 50 µs of
   * WebCrypto each). Entries expire with their token, and the session is still checked in the store on every
   * request, so a flush takes effect at once. Payloads answered are the caller's own objects; the arrays and objects
   * nested in them are read-only (shared between requests). 0 turns it off.
   * @default 10000
   */
  verifiedTokenCacheSize?: number;
  /**
   * Session store: `'memory'` (the default) or `{ type: 'memory', maxSessions }` keeps sessions in this process; `{ type: 'redis', ... }` shares them
   * through Redis (single server, Sentinel or Cluster); or pass any {@link TokenStore} of your own.
   * @default 'memory'
   */
  store?: 'memory' | MemoryStoreOptions | RedisStoreOptions | TokenStore;
  /**
   * The module's one source of time (token expiry, store expiry, grace windows). Tests pass a `TestClock` from
   * `nestjs-jwt-sessions/testing` to step past expiries.
   * @default the system clock
   */
  clock?: Clock;
}

/** A class that builds the options, for `forRootAsync({ useClass })`. @publicApi */
export interface JwtSessionsOptionsFactory {
  createJwtSessionsOptions(): JwtSessionsModuleOptions | Promise<JwtSessionsModuleOptions>;
}
