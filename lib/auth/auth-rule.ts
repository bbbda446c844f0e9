import type { CanActivate, Type } from '@nestjs/common';
import type { TokenClaimsOptions, TokenTransport } from '../interfaces/jwt-sessions-options.interface.js';
import type { TokenType } from '../interfaces/session.interface.js';
import type { AccessTokenPayload, RefreshTokenPayload } from '../interfaces/token-payload.interface.js';
import type { StoredSession } from '../store/stored-session.js';

/** What a guarded route requires: `refresh-by-access` takes an access token whose expiry is waived. @publicApi */
export type AuthMode = 'access' | 'refresh' | 'refresh-by-access';

/** Options shared by `@AccessAuth()`, `@RefreshAuth()` and `@RefreshByAccessAuth()`. @publicApi */
export interface AuthOptions {
  /** Where the token may come from. @default 'auto' (header, then cookie) */
  transport?: TokenTransport;
  /** Claims checked on this route, over `@TokenClaims()` and the module's `verify`. */
  claims?: TokenClaimsOptions;
  /**
   * The guard that enforces the rule: a subclass of `JwtSessionsGuard` whose `getRequest` reads another context
   * (GraphQL, WebSockets). Make it injectable and provide it where the resolver or gateway lives.
   * @default JwtSessionsGuard
   */
  guard?: Type<CanActivate>;
}

/** @internal The metadata an auth decorator leaves on a route. */
export interface AuthRule {
  mode: AuthMode;
  transport: TokenTransport;
  claims?: TokenClaimsOptions;
}

/**
 * What the guard verified, left on the request for the param decorators.
 * @publicApi
 */
export interface AuthContext {
  /** The kind of token that was presented. */
  type: TokenType;
  /** The raw token found (the gem's `found_token`). */
  token: string;
  source: 'header' | 'cookie';
  /** Its verified payload; on refresh-by-access routes, verified except for expiry (the gem's `claimless_payload`). */
  payload: AccessTokenPayload | RefreshTokenPayload;
  /** Its live session, without the CSRF secret and rotation state: safe to log or answer. */
  session: SessionView;
}

/** A stored session without what must never leave the server: the raw CSRF secret and the rotation state. @publicApi */
export type SessionView = Omit<StoredSession, 'csrf' | 'refreshUid' | 'rotation'>;

/** The view of a session the guard hands to the app. @internal */
export function sessionView(session: StoredSession): SessionView {
  // Field by field rather than a rest copy: cheaper on every request, and nothing a custom store adds slips through.
  return {
    uid: session.uid,
    namespace: session.namespace,
    accessUid: session.accessUid,
    accessExpiresAt: session.accessExpiresAt,
    expiresAt: session.expiresAt,
    createdAt: session.createdAt,
    refreshByAccessAllowed: session.refreshByAccessAllowed,
    refreshedAt: session.refreshedAt,
    idleExpiresAt: session.idleExpiresAt,
    userAgent: session.userAgent,
    ip: session.ip,
  };
}
