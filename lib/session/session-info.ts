import type { SessionInfo } from '../interfaces/session.interface.js';
import type { StoredSession } from '../store/stored-session.js';

/** What a session listing shows of a stored session: never its CSRF secret or access uid. @internal */
export function toSessionInfo(session: StoredSession): SessionInfo {
  return {
    id: session.uid,
    namespace: session.namespace,
    created_at: new Date(session.createdAt * 1000),
    expires_at: new Date(session.expiresAt * 1000),
    access_expires_at: session.accessExpiresAt === 0 ? null : new Date(session.accessExpiresAt * 1000),
    refresh_by_access_allowed: session.refreshByAccessAllowed,
  };
}
