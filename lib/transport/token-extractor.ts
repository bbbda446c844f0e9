import { parseCookie } from 'cookie';
import type { CookieNames, HeaderNames } from '../config/jwt-sessions.config.js';
import type { TokenTransport } from '../interfaces/jwt-sessions-options.interface.js';
import type { TokenType } from '../interfaces/session.interface.js';
import type { SessionRequest } from './session-request.js';

/** A token as found in a request, and where it was found (a cookie needs a CSRF check). @publicApi */
export interface LocatedToken {
  token: string;
  source: 'header' | 'cookie';
}

/** `Bearer <token>` or a bare `<token>`; the scheme is matched case-insensitively. */
const BEARER = /^(?:bearer[ \t]+)?([^\s,]+)$/i;

/** Methods that never need a CSRF token (the gem's CSRF_SAFE_METHODS). */
const CSRF_SAFE_METHODS = new Set(['GET', 'HEAD']);

/**
 * The first value of a header (Node joins most repeats, but keeps arrays for a few). Anything that is not a
 * string, as a hand-made request of another context might hold, counts as absent. @internal
 */
export function headerValue(request: SessionRequest, name: string): string | undefined {
  const value = request.headers?.[name];
  const first = Array.isArray(value) ? value[0] : value;
  return typeof first === 'string' ? first : undefined;
}

/**
 * The token in a header. A present but malformed value is answered as it is, so that it fails verification
 * (401) rather than falling through to a cookie.
 * @internal
 */
export function tokenFromHeader(request: SessionRequest, name: string): string | undefined {
  const raw = headerValue(request, name)?.trim();
  if (!raw) return undefined;
  // The usual spelling skips the regular expression (a hot path): what follows is the token, and one with a space or a
  // comma in it fails verification as surely as the whole value would.
  if (raw.startsWith('Bearer ') && raw.charCodeAt(7) > 0x20) return raw.slice(7);
  return BEARER.exec(raw)?.[1] ?? raw;
}

/** The token in a cookie; the Cookie header is parsed by the `cookie` package, no middleware needed. @internal */
export function tokenFromCookie(request: SessionRequest, name: string): string | undefined {
  const header = headerValue(request, 'cookie');
  if (!header) return undefined;
  return parseCookie(header)[name] || undefined;
}

/** Finds a token of a type by the transport rule: header, cookie, or header then cookie (the gem's order). @internal */
export function findToken(
  request: SessionRequest,
  type: TokenType,
  transport: TokenTransport,
  names: { headers: HeaderNames; cookies: CookieNames },
): LocatedToken | null {
  if (transport !== 'cookie') {
    const token = tokenFromHeader(request, names.headers[type]);
    if (token !== undefined) return { token, source: 'header' };
  }
  if (transport !== 'header') {
    const token = tokenFromCookie(request, names.cookies[type]);
    if (token !== undefined) return { token, source: 'cookie' };
  }
  return null;
}

/** Whether a request with a cookie-borne token must also carry the CSRF header. @internal */
export function needsCsrf(request: SessionRequest, found: LocatedToken): boolean {
  // A request whose method is unknown (a non-HTTP context) is treated as unsafe. Method-override middleware turns a
  // POST into another method but keeps the wire method in `originalMethod`: both must be safe to skip the check.
  if (found.source !== 'cookie') return false;
  const methods = [request.method, request.originalMethod].filter((method) => method !== undefined);
  return methods.length === 0 || methods.some((method) => !CSRF_SAFE_METHODS.has(String(method).toUpperCase()));
}
