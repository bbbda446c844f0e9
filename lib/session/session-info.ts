import { dateOf } from '../clock/clock.js';
import type { SessionInfo } from '../interfaces/session.interface.js';
import type { StoredSession } from '../store/stored-session.js';

/** What a session listing shows of a stored session: never its CSRF secret or token ids. @internal */
export function toSessionInfo(session: StoredSession, current: boolean): SessionInfo {
  return {
    id: session.uid,
    namespace: session.namespace,
    current,
    created_at: dateOf(session.createdAt),
    refreshed_at: dateOf(session.refreshedAt),
    expires_at: dateOf(session.expiresAt),
    idle_expires_at: session.idleExpiresAt === 0 ? null : dateOf(session.idleExpiresAt),
    access_expires_at: session.accessExpiresAt === 0 ? null : dateOf(session.accessExpiresAt),
    refresh_by_access_allowed: session.refreshByAccessAllowed,
    user_agent: session.userAgent,
    ip: session.ip,
  };
}
