import type { JwtSessionsConfig } from '../config/jwt-sessions.config.js';
import { isCrossSite } from '../csrf/cross-site.js';
import { isValidCsrf } from '../csrf/csrf-token.js';
import { UnauthorizedError } from '../errors/jwt-sessions.errors.js';
import type { StoredSession } from '../store/stored-session.js';
import type { SessionRequest } from '../transport/session-request.js';
import { headerValue, needsCsrf, type LocatedToken } from '../transport/token-extractor.js';

/**
 * Refuses a cookie-borne token on an unsafe method unless the request carries the session's CSRF token, and, with
 * `cookieOptions.rejectCrossSite`, when the browser says the request comes from another site.
 * @internal
 */
export function assertCsrf(request: SessionRequest, found: LocatedToken, session: StoredSession, config: JwtSessionsConfig): void {
  if (!needsCsrf(request, found)) return;
  if (config.cookieOptions.rejectCrossSite && isCrossSite(request, config.cookieOptions)) {
    throw new UnauthorizedError('Cross-site request refused');
  }
  if (!isValidCsrf(session.csrf, headerValue(request, config.headers.csrf))) {
    throw new UnauthorizedError('CSRF token is invalid');
  }
}
