/**
 * A session as a store keeps it. Times are Unix seconds, like JWT `exp`.
 * `accessExpiresAt` is 0 once the namespace's access tokens were flushed (the gem's `"0"` link): the access
 * token is then refused everywhere, but `accessUid` is kept so that this one token may still refresh by access
 * (unless refresh tokens rotate).
 * @publicApi
 */
export interface StoredSession {
  /** Session id: the `uid` of its refresh tokens. */
  uid: string;
  namespace: string | null;
  /** The raw CSRF secret, base64 of 32 random bytes; responses carry it masked. */
  csrf: string;
  /** uid of the last access token issued: the only one this session honours. */
  accessUid: string;
  accessExpiresAt: number;
  /** The session's absolute end (its refresh tokens' `exp`): no refresh moves it. */
  expiresAt: number;
  createdAt: number;
  refreshByAccessAllowed: boolean;
  /** The last login or refresh. */
  refreshedAt: number;
  /** With an idle timeout, the session ends at this time unless refreshed before; 0 without one. */
  idleExpiresAt: number;
  /** `rid` of the current refresh token under rotation; '' for a session that never rotated (its tokens carry none). */
  refreshUid: string;
  /** What the last rotation retired, kept to tell a concurrent repeat (grace) from a replayed stolen token. */
  rotation: RetiredTokens | null;
  /** The client's user agent, as the app passed it at login. */
  userAgent: string | null;
  /** The client's IP (or the hash of it the app passed) at login. */
  ip: string | null;
}

/** The token ids a rotation retired, the CSRF secret that went with them, and when. @publicApi */
export interface RetiredTokens {
  refreshUid: string;
  accessUid: string;
  /** Still accepted with the retired token within the grace window, so a second tab's repeat passes its CSRF check. */
  csrf: string;
  rotatedAt: number;
}

/** The part of a session a refresh rewrites. @publicApi */
export type AccessLink = Pick<StoredSession, 'accessUid' | 'accessExpiresAt' | 'csrf' | 'refreshedAt' | 'idleExpiresAt'>;

/** What a rotating refresh rewrites: the access link plus the new refresh token's id. @publicApi */
export type RotationLink = AccessLink & Pick<StoredSession, 'refreshUid'>;

/** The token a rotating refresh presents: a refresh token's `rid`, or (refresh by access) an access token's `uid`. @publicApi */
export interface PresentedToken {
  kind: 'refresh' | 'access';
  id: string;
}

/**
 * The successor tokens a rotation issued, kept for the grace window so that a repeat gets the same ones. The module
 * hands the store sealed values (encrypted under a key only the presented token gives), which the store keeps as
 * they are. @publicApi
 */
export interface SuccessorTokens {
  access: string;
  refresh: string;
}

/**
 * What a rotation did: `rotated` (the presented token was current), `replayed` (a repeat within the grace window: the
 * same successors), `reused` (a retired token outside the grace window, or two generations old: the session was
 * revoked), `refused` (a current access token whose access was flushed: no refresh by access, nothing revoked), or
 * `early` (asked to stop there: the presented token is current and the session's access token still live; nothing
 * written), or `gone` (no live session).
 * @publicApi
 */
export type RotationResult =
  | { outcome: 'rotated'; session: StoredSession }
  | { outcome: 'replayed'; session: StoredSession; tokens: SuccessorTokens }
  | { outcome: 'reused'; namespace: string | null }
  | { outcome: 'refused' }
  | { outcome: 'early'; session: StoredSession }
  | { outcome: 'gone' };

/**
 * What a relink by refresh token did: `relinked` (with when the replaced access token would have expired, 0 if it was
 * flushed or the call was a resend), `early` (asked to stop while the access token is live; nothing changed),
 * `not-current` (the token is not the session's current refresh token; nothing changed) or `gone`.
 * @publicApi
 */
export type RefreshRelinkResult =
  | { outcome: 'relinked'; session: StoredSession; replacedAccessExpiresAt: number }
  | { outcome: 'early'; session: StoredSession }
  | { outcome: 'not-current' }
  | { outcome: 'gone' };

/** A copy deep enough that neither its holder nor the store can change the other's record. @internal */
export function copySession(session: StoredSession): StoredSession {
  return { ...session, rotation: session.rotation && { ...session.rotation } };
}

/** When a session ends: its absolute end, or its idle deadline when that comes first. @internal */
export function liveUntil(session: Pick<StoredSession, 'expiresAt' | 'idleExpiresAt'>): number {
  return session.idleExpiresAt > 0 ? Math.min(session.expiresAt, session.idleExpiresAt) : session.expiresAt;
}
