import { Injectable } from '@nestjs/common';
import { Clock, toSeconds } from '../clock/clock.js';
import { JwtSessionsConfig } from '../config/jwt-sessions.config.js';
import { isCrossSite } from '../csrf/cross-site.js';
import { isValidCsrf } from '../csrf/csrf-token.js';
import { UnauthorizedError } from '../errors/jwt-sessions.errors.js';
import { SessionEvents } from '../events/session-events.js';
import type { TokenType } from '../interfaces/session.interface.js';
import { isRetiredInGrace } from '../session/rotation-window.js';
import { refreshIdOf } from '../session/session-claims.js';
import type { AuthorizedToken } from '../session/session.service.js';
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
    private readonly clock: Clock,
  ) {}

  assert(request: SessionRequest, found: LocatedToken, authorized: AuthorizedToken, type: TokenType): void {
    const { session } = authorized;
    if (!needsCsrf(request, found)) return;
    if (this.config.cookieOptions.rejectCrossSite && isCrossSite(request, this.config.cookieOptions)) {
      this.refuse(session, 'Cross-site request refused');
    }
    const presented = headerValue(request, this.config.headers.csrf);
    if (isValidCsrf(session.csrf, presented)) return;
    // A second tab repeating a cookie refresh within the grace window still holds the CSRF token of the retired token.
    const retired = this.retiredInGrace(authorized, type);
    if (retired === null || !isValidCsrf(retired, presented)) this.refuse(session, 'CSRF token is invalid');
  }

  /** The CSRF secret retired with the presented token, while its rotation's grace window is open; else null. */
  private retiredInGrace({ payload, session }: AuthorizedToken, type: TokenType): string | null {
    const presented = { kind: type, id: type === 'refresh' ? refreshIdOf(payload) : String(payload.uid) };
    if (!isRetiredInGrace(session, presented, this.config.policy, toSeconds(this.clock.now()))) return null;
    // A record from a custom store may lack the secret: then there is simply none to accept.
    const csrf = session.rotation?.csrf;
    return typeof csrf === 'string' && csrf !== '' ? csrf : null;
  }

  private refuse(session: StoredSession, message: string): never {
    this.events.emit({ type: 'csrf.failed', sessionId: session.uid, namespace: session.namespace });
    throw new UnauthorizedError(message);
  }
}
