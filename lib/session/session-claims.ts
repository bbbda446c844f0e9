import { InvalidPayloadError, UnauthorizedError } from '../errors/jwt-sessions.errors.js';
import { RESERVED_CLAIMS, type SessionPayload } from '../interfaces/token-payload.interface.js';
import { MAX_LIFETIME } from '../jwt-sessions.constants.js';

/**
 * The app's payload with the reserved claims removed, copied into a fresh object so that neither a later
 * change by the caller nor a key like `__proto__` can reach the token or any prototype.
 * @internal
 */
export function appClaims(payload: unknown, option: string): Record<string, unknown> {
  if (payload === undefined) return {};
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    throw new InvalidPayloadError(`${option} must be a plain object`);
  }
  const claims: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(payload as SessionPayload)) {
    if (!(RESERVED_CLAIMS as readonly string[]).includes(key)) Object.defineProperty(claims, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return claims;
}

/** A string claim the session needs (`uid`, `ruid`), or a 401: a signed token without it is not one of ours. @internal */
export function requiredId(payload: Record<string, unknown>, claim: 'uid' | 'ruid'): string {
  const value = payload[claim];
  if (typeof value !== 'string' || value.length === 0) {
    throw new UnauthorizedError(`Token payload does not contain ${claim}`);
  }
  return value;
}

/** The id of a refresh token (`rid`, set under rotation), or '' for one issued without rotation. @internal */
export function refreshIdOf(payload: Record<string, unknown>): string {
  const rid = payload.rid;
  if (rid === undefined) return '';
  if (typeof rid !== 'string' || rid.length === 0) throw new UnauthorizedError('Token payload has an invalid rid');
  return rid;
}

/** Longest user agent or IP kept with a session: enough for any real one, bounded for the store. */
const MAX_CLIENT_DETAIL = 512;

/** A user agent or IP the app passes at login: a string, cut to a bounded length; null when not given. @internal */
export function clientDetail(value: string | undefined, option: string): string | null {
  if (value === undefined || value === '') return null;
  if (typeof value !== 'string' || LONE_SURROGATE.test(value)) throw new InvalidPayloadError(`${option} must be a well-formed string`);
  const cut = value.slice(0, MAX_CLIENT_DETAIL);
  // Never keep half of a surrogate pair the cut went through.
  return /[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut;
}

/** A lifetime in whole seconds (one to MAX_LIFETIME), or an InvalidPayloadError naming the option. @internal */
export function lifetime(value: number | undefined, fallback: number, option: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1 || value > MAX_LIFETIME) {
    throw new InvalidPayloadError(`${option} must be a whole number of seconds from 1 to ${MAX_LIFETIME}`);
  }
  return value;
}

/** Lone surrogates: strings that UTF-8 cannot tell apart (both become U+FFFD), so two namespaces would merge. */
const LONE_SURROGATE = /\p{Cs}/u;

/** A namespace: a non-empty, well-formed string (or none). @internal */
export function namespaceOf(namespace: string | undefined): string | null {
  if (namespace === undefined) return null;
  if (typeof namespace !== 'string' || namespace.length === 0 || LONE_SURROGATE.test(namespace)) {
    throw new InvalidPayloadError('namespace must be a non-empty, well-formed string');
  }
  return namespace;
}
