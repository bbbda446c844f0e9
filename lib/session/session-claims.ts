import { InvalidPayloadError, UnauthorizedError } from '../errors/jwt-sessions.errors.js';
import { RESERVED_CLAIMS, type SessionPayload } from '../interfaces/token-payload.interface.js';

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

/** A lifetime in whole seconds, or an InvalidPayloadError naming the option. @internal */
export function lifetime(value: number | undefined, fallback: number, option: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) throw new InvalidPayloadError(`${option} must be a positive whole number of seconds`);
  return value;
}
