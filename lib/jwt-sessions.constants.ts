/** Defaults mirror the Ruby gem jwt_sessions so a client written against it works unchanged. */
export const DEFAULT_ALGORITHM = 'HS256';
export const DEFAULT_ACCESS_EXPIRES_IN = 3600;
export const DEFAULT_REFRESH_EXPIRES_IN = 604800;
export const DEFAULT_ACCESS_HEADER = 'Authorization';
export const DEFAULT_REFRESH_HEADER = 'X-Refresh-Token';
export const DEFAULT_CSRF_HEADER = 'X-CSRF-Token';
export const DEFAULT_ACCESS_COOKIE = 'jwt_access';
export const DEFAULT_REFRESH_COOKIE = 'jwt_refresh';
/** Longest lifetime accepted, in seconds (ten years): longer ones are mistakes, and would overflow store expiries. */
export const MAX_LIFETIME = 315_360_000;
/** Rotation grace window: long enough for two tabs refreshing together, short enough for a stolen token to be caught. */
export const DEFAULT_REFRESH_GRACE = 5;
export const MAX_REFRESH_GRACE = 300;
/** The longest clock-skew leeway a claims check takes, in seconds (a day). */
export const MAX_LEEWAY = 86_400;
/** Longest token, cookie value or CSRF header we read; anything longer is refused before any parsing. */
export const DEFAULT_MAX_TOKEN_LENGTH = 8192;
/** Verified tokens remembered per module: a few MB at most, enough for every token live in a busy instance's hour. */
export const DEFAULT_VERIFIED_TOKEN_CACHE_SIZE = 10_000;
/** What browsers keep of one cookie, name and value together (RFC 6265 §6.1's minimum, and Chrome's maximum). */
export const MAX_COOKIE_BYTES = 4096;

/** @internal Metadata key of the auth mode a route requires. */
export const AUTH_METADATA = Symbol('jwt-sessions:auth');
/** @internal Request property where the guard leaves what it verified. */
export const AUTH_CONTEXT = Symbol('jwt-sessions:auth-context');
/**
 * @internal The guard's access check on SessionService, which may answer the store's own record: keyed by a symbol
 * the package does not export, so no subclass overrides it by name and receives that record to change.
 */
export const AUTHORIZE_ACCESS_NOW = Symbol('jwt-sessions:authorize-access-now');
