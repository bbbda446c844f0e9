import { UnauthorizedError } from '../errors/jwt-sessions.errors.js';

/** Compact JWS only: three base64url segments, nothing else (no JWE, no JSON serialization, no padding). */
const COMPACT_JWS = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/;
/** Header parameters we never issue and refuse outright: `crit` extensions and unencoded payloads (`b64`). */
const REFUSED_HEADER_PARAMETERS = ['crit', 'b64'];
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/** A token that passed the shape check, and the header parameter we read ourselves (the rest is jose's). @internal */
export interface CompactJws {
  compact: string;
  /** The key id, when the token names one. */
  kid: string | undefined;
}

/**
 * Refuses, before any crypto, whatever is not a compact JWS of ours in shape: too long, wrong segments or alphabet,
 * a header that is not a strict UTF-8 JSON object or that carries `crit` or `b64` (jose alone lets `b64` through
 * without `crit`), a non-string `kid`, a payload that is not strict UTF-8 (jose would decode it leniently), or a
 * segment that is not the canonical spelling of its bytes.
 * Key material in the header (`jwk`, `jku`, `x5u`, `x5c`) is never read: keys come from the config.
 * @internal
 */
export function readCompactJws(token: unknown, maxLength: number): CompactJws {
  const segments = typeof token === 'string' && token.length <= maxLength ? COMPACT_JWS.exec(token) : null;
  if (segments === null) throw new UnauthorizedError('Malformed token');
  const header = strictJson(segments[1], 'Malformed token header');
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new UnauthorizedError('Malformed token header');
  if (REFUSED_HEADER_PARAMETERS.some((name) => Object.prototype.hasOwnProperty.call(header, name))) {
    throw new UnauthorizedError('Unsupported token header parameter');
  }
  const kid: unknown = (header as Record<string, unknown>).kid;
  if (kid !== undefined && typeof kid !== 'string') throw new UnauthorizedError('Malformed token header');
  strictUtf8(segments[2], 'Malformed token payload');
  canonical(segments[3], 'Malformed token signature');
  return { compact: segments[0], kid };
}

function strictUtf8(segment: string, message: string): string {
  try {
    return STRICT_UTF8.decode(canonical(segment, message));
  } catch {
    throw new UnauthorizedError(message);
  }
}

/**
 * The bytes of a base64url segment that is their one spelling: the decoder ignores a last character's unused bits,
 * so without this check one token would have several spellings (and a token string would not identify a token).
 */
function canonical(segment: string, message: string): Buffer {
  const bytes = Buffer.from(segment, 'base64url');
  if (bytes.toString('base64url') !== segment) throw new UnauthorizedError(message);
  return bytes;
}

function strictJson(segment: string, message: string): unknown {
  const text = strictUtf8(segment, message);
  try {
    return JSON.parse(text);
  } catch {
    throw new UnauthorizedError(message);
  }
}
