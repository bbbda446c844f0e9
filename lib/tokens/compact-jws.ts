import { UnauthorizedError } from '../errors/jwt-sessions.errors.js';

/** Compact JWS only: three base64url segments, nothing else (no JWE, no JSON serialization, no padding). */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** Header parameters we never issue and refuse outright: `crit` extensions and unencoded payloads (`b64`). */
const REFUSED_HEADER_PARAMETERS = ['crit', 'b64'];
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Refuses, before any crypto, whatever is not a compact JWS of ours in shape: too long, wrong segments or alphabet,
 * a header that is not strict UTF-8 JSON object, or that carries `crit` or `b64` (jose alone lets `b64` through
 * without `crit`). Key material in the header (`jwk`, `jku`, `x5u`, `x5c`) is never read: keys come from the config.
 * @internal
 */
export function assertCompactJws(token: unknown, maxLength: number): asserts token is string {
  if (typeof token !== 'string' || token.length > maxLength || !COMPACT_JWS.test(token)) {
    throw new UnauthorizedError('Malformed token');
  }
  let header: unknown;
  try {
    header = JSON.parse(STRICT_UTF8.decode(Buffer.from(token.slice(0, token.indexOf('.')), 'base64url')));
  } catch {
    throw new UnauthorizedError('Malformed token header');
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new UnauthorizedError('Malformed token header');
  if (REFUSED_HEADER_PARAMETERS.some((name) => Object.prototype.hasOwnProperty.call(header, name))) {
    throw new UnauthorizedError('Unsupported token header parameter');
  }
}
