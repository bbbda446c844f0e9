import type { TokenClaimsOptions } from './jwt-sessions-options.interface.js';
import type { SessionPayload } from './token-payload.interface.js';

/**
 * What a refresh answers; keys are the gem's, so the object can be sent as JSON as it is.
 * @publicApi
 */
export interface RefreshedTokens {
  /** Masked CSRF token for this response (a fresh mask each time, against BREACH). */
  csrf: string;
  access: string;
  access_expires_at: Date;
  /** The new refresh token, when refresh tokens rotate. */
  refresh?: string;
  refresh_expires_at?: Date;
}

/** What a login answers. @publicApi */
export interface SessionTokens extends RefreshedTokens {
  refresh: string;
  refresh_expires_at: Date;
}

/**
 * Called when a refresh comes while the session's access token is still live (a possible stolen refresh token),
 * or, on refresh by access, with an access token that is not the session's current one.
 * Throw to refuse the refresh (`UnauthorizedError` answers 401); return to let it go on.
 * @publicApi
 */
export type EarlyRefreshCallback = (sessionUid: string, accessExpiresAt: Date) => void | Promise<void>;

/** Options of `SessionService.login` (the gem's `Session.new` options). @publicApi */
export interface LoginOptions<P extends SessionPayload = SessionPayload, R extends SessionPayload = P> {
  /** Data sewn into the access token. @default {} */
  payload?: P;
  /** Data sewn into the refresh token. @default the access payload */
  refreshPayload?: R;
  /** Groups sessions, e.g. per user, so they can be listed and flushed together. */
  namespace?: string;
  /** Allows refreshing this session with its (expired) access token alone. @default false */
  refreshByAccessAllowed?: boolean;
  /** Access lifetime in seconds for this session. @default the module's `accessExpiresIn` */
  accessExpiresIn?: number;
  /** Refresh lifetime in seconds for this session. @default the module's `refreshExpiresIn` */
  refreshExpiresIn?: number;
  /** The client's user agent, kept with the session for `listSessions` (cut to 512 characters). */
  userAgent?: string;
  /** The client's IP, or a hash of it if you would rather not keep IPs, kept for `listSessions`. */
  ip?: string;
}

/** Options of `SessionService.refresh` and `refreshByAccess`. @publicApi */
export interface RefreshOptions<P extends SessionPayload = SessionPayload> {
  /** Data sewn into the new access token. @default {} */
  payload?: P;
  /**
   * Under rotation, data sewn into the new refresh token. @default the presented refresh token's data (refresh), or
   * `payload` (refresh by access)
   */
  refreshPayload?: SessionPayload;
  /** Access lifetime in seconds. @default the module's `accessExpiresIn` */
  accessExpiresIn?: number;
  /** Claims checked on the token given (refresh token, or access token for refresh by access). */
  claims?: TokenClaimsOptions;
  /** The gem's refresh block: see {@link EarlyRefreshCallback}. */
  onEarlyRefresh?: EarlyRefreshCallback;
}

/** One live session as listed by `SessionService.listSessions`. @publicApi */
export interface SessionInfo {
  /** The session id (its refresh token's uid, its access tokens' ruid). */
  id: string;
  namespace: string | null;
  /** Whether this is the session of the caller (`listSessions`'s `currentSessionId`). */
  current: boolean;
  created_at: Date;
  /** The last login or refresh. */
  refreshed_at: Date;
  /** The session's absolute end. */
  expires_at: Date;
  /** With an idle timeout, when the session ends unless it refreshes first; null without one. */
  idle_expires_at: Date | null;
  /** When the current access token expires; null after its namespace's access tokens were flushed. */
  access_expires_at: Date | null;
  refresh_by_access_allowed: boolean;
  user_agent: string | null;
  ip: string | null;
}

/** Token kinds, as the gem names them. @publicApi */
export type TokenType = 'access' | 'refresh';
