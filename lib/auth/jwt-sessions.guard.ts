import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { JwtSessionsConfig } from '../config/jwt-sessions.config.js';
import { UnauthorizedError } from '../errors/jwt-sessions.errors.js';
import type { TokenClaimsOptions } from '../interfaces/jwt-sessions-options.interface.js';
import { AUTH_CONTEXT, AUTH_METADATA, AUTHORIZE_ACCESS_NOW } from '../jwt-sessions.constants.js';
import { SessionService, type AuthorizedToken } from '../session/session.service.js';
import type { SessionRequest } from '../transport/session-request.js';
import { findToken, type LocatedToken } from '../transport/token-extractor.js';
import type { TokenType } from '../interfaces/session.interface.js';
import { httpRequestOf } from './auth-context.js';
import { sessionView, type AuthContext, type AuthMode, type AuthRule } from './auth-rule.js';
import { CsrfCheck } from './csrf-check.js';
import { routeClaims } from './route-claims.js';

type Authorized = AuthorizedToken<AuthContext['payload']>;
type Authorizer = (sessions: SessionService, token: string, claims: TokenClaimsOptions | undefined) => Authorized | Promise<Authorized>;

/** One handler per mode: the guard itself only finds the token and checks CSRF. */
const AUTHORIZERS: Record<AuthMode, Authorizer> = {
  // An app that overrides authorizeAccess (a subclass of SessionService) keeps its checks on guarded routes.
  access: (sessions, token, claims) => sessions.authorizeAccess === SessionService.prototype.authorizeAccess
    ? sessions[AUTHORIZE_ACCESS_NOW](token, claims)
    : sessions.authorizeAccess(token, claims),
  refresh: (sessions, token, claims) => sessions.authorizeRefresh(token, claims),
  'refresh-by-access': (sessions, token, claims) => sessions.authorizeRefreshByAccess(token, claims),
};

/** What a guarded route asks for, worked out from its metadata on its first request. */
interface RoutePlan {
  transport: AuthRule['transport'];
  type: TokenType;
  claims: TokenClaimsOptions | undefined;
  authorize: Authorizer;
}

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

  /** Route metadata is fixed once the app is built (Nest builds its own route handlers once, too): read it once per route. */
  private readonly plans = new WeakMap<object, WeakMap<object, RoutePlan | null>>();

  /**
   * True, or a promise of it. A known access token on a store that answers at once (memory) passes without a
   * promise, so Nest awaits nothing; every refusal is a rejected promise, as from an async guard.
   */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    try {
      const plan = this.planOf(context);
      if (plan === null) return true;
      const request = this.getRequest(context);
      const found = findToken(request, plan.type, plan.transport, this.config);
      if (!found) throw new UnauthorizedError('Token is not found');
      const authorized = plan.authorize(this.sessions, found.token, plan.claims);
      if (authorized instanceof Promise) return authorized.then((result) => this.admit(request, found, result, plan.type));
      return this.admit(request, found, authorized, plan.type);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Checks CSRF for the authorized token and leaves the auth context on the request. */
  private admit(request: SessionRequest, found: LocatedToken, authorized: Authorized, type: TokenType): true {
    this.csrf.assert(request, found, authorized, type);
    const { payload, session } = authorized;
    const authContext: AuthContext = { type, token: found.token, source: found.source, payload, session: sessionView(session) };
    // A plain store (symbol-keyed, so no JSON or Object.keys sees it): defineProperty goes through V8's slow runtime path.
    (request as { [AUTH_CONTEXT]?: AuthContext })[AUTH_CONTEXT] = authContext;
    return true;
  }

  private planOf(context: ExecutionContext): RoutePlan | null {
    const controller = context.getClass();
    const handler = context.getHandler();
    let plans = this.plans.get(controller);
    if (plans === undefined) this.plans.set(controller, (plans = new WeakMap()));
    let plan = plans.get(handler);
    if (plan === undefined) {
      const rule = this.reflector.getAllAndOverride<AuthRule | undefined>(AUTH_METADATA, [handler, controller]);
      plan = rule === undefined ? null : {
        transport: rule.transport,
        type: rule.mode === 'refresh' ? 'refresh' : 'access',
        claims: routeClaims(this.reflector, context, rule.claims),
        authorize: AUTHORIZERS[rule.mode],
      };
      plans.set(handler, plan);
    }
    return plan;
  }

  /** The request to read. Override it to plug in another context (GraphQL, WebSockets). */
  protected getRequest(context: ExecutionContext): SessionRequest {
    return httpRequestOf(context) as SessionRequest;
  }
}
