import { Injectable } from '@nestjs/common';
import { JwtSessionsConfig } from '../config/jwt-sessions.config.js';
import { isCrossSite } from '../csrf/cross-site.js';
import { isValidCsrf } from '../csrf/csrf-token.js';
import { UnauthorizedError } from '../errors/jwt-sessions.errors.js';
import { SessionEvents } from '../events/session-events.js';
import type { StoredSession } from '../store/stored-session.js';
import type { SessionRequest } from '../transport/session-request.js';
import { headerValue, needsCsrf, type LocatedToken } from '../transport/token-extractor.js';

/**
 * Refuses a cookie-borne token on an unsafe method unless the request carries the session's CSRF token, and, with
 * `cookieOptions.rejectCrossSite`, when the browser says the request comes from another site. Each refusal is a
 * `csrf.failed` event.
 * @internal
 */
@Injectable()
export class CsrfCheck {
  constructor(
    private readonly config: JwtSessionsConfig,
    private readonly events: SessionEvents,
  ) {}

  assert(request: SessionRequest, found: LocatedToken, session: StoredSession): void {
    if (!needsCsrf(request, found)) return;
    if (this.config.cookieOptions.rejectCrossSite && isCrossSite(request, this.config.cookieOptions)) {
      this.refuse(session, 'Cross-site request refused');
    }
    if (!isValidCsrf(session.csrf, headerValue(request, this.config.headers.csrf))) this.refuse(session, 'CSRF token is invalid');
  }

  private refuse(session: StoredSession, message: string): never {
    this.events.emit({ type: 'csrf.failed', sessionId: session.uid, namespace: session.namespace });
    throw new UnauthorizedError(message);
  }
}
