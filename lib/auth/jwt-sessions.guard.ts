import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { JwtSessionsConfig } from '../config/jwt-sessions.config.js';
import { UnauthorizedError } from '../errors/jwt-sessions.errors.js';
import type { TokenClaimsOptions } from '../interfaces/jwt-sessions-options.interface.js';
import { AUTH_CONTEXT, AUTH_METADATA } from '../jwt-sessions.constants.js';
import { SessionService, type AuthorizedToken } from '../session/session.service.js';
import type { SessionRequest } from '../transport/session-request.js';
import { findToken } from '../transport/token-extractor.js';
import { sessionView, type AuthContext, type AuthMode, type AuthRule } from './auth-rule.js';
import { CsrfCheck } from './csrf-check.js';
import { routeClaims } from './route-claims.js';

type Authorizer = (sessions: SessionService, token: string, claims: TokenClaimsOptions) => Promise<AuthorizedToken<AuthContext['payload']>>;

/** One handler per mode: the guard itself only finds the token and checks CSRF. */
const AUTHORIZERS: Record<AuthMode, Authorizer> = {
  access: (sessions, token, claims) => sessions.authorizeAccess(token, claims),
  refresh: (sessions, token, claims) => sessions.authorizeRefresh(token, claims),
  'refresh-by-access': (sessions, token, claims) => sessions.authorizeRefreshByAccess(token, claims),
};

/**
 * The guard behind `@AccessAuth()`, `@RefreshAuth()` and `@RefreshByAccessAuth()`: finds the token (header then
 * cookie, or as the route says), verifies it and its live session, checks CSRF for cookie-borne tokens on every
 * method but GET and HEAD, and leaves an {@link AuthContext} on the request. Routes without an auth decorator pass.
 * @publicApi
 */
@Injectable()
export class JwtSessionsGuard implements CanActivate {
  constructor(
    protected readonly reflector: Reflector,
    protected readonly sessions: SessionService,
    protected readonly config: JwtSessionsConfig,
    protected readonly csrf: CsrfCheck,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    const rule = this.reflector.getAllAndOverride<AuthRule | undefined>(AUTH_METADATA, targets);
    if (!rule) return true;
    const request = this.getRequest(context);
    const type = rule.mode === 'refresh' ? 'refresh' : 'access';
    const found = findToken(request, type, rule.transport, this.config);
    if (!found) throw new UnauthorizedError('Token is not found');
    const claims = routeClaims(this.reflector, context, rule.claims);
    const authorized = await AUTHORIZERS[rule.mode](this.sessions, found.token, claims);
    const { payload, session } = authorized;
    this.csrf.assert(request, found, authorized, type);
    const authContext: AuthContext = { type, token: found.token, source: found.source, payload, session: sessionView(session) };
    Object.defineProperty(request, AUTH_CONTEXT, { value: authContext, configurable: true });
    return true;
  }

  /** The request to read. Override it to plug in another context (GraphQL, WebSockets). */
  protected getRequest(context: ExecutionContext): SessionRequest {
    return context.switchToHttp().getRequest<SessionRequest>();
  }
}
