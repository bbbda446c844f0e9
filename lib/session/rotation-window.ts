import type { SessionPolicy } from '../config/jwt-sessions.config.js';
import type { PresentedToken, StoredSession } from '../store/stored-session.js';

/**
 * Whether the presented token is the one the session's last rotation retired, and the grace window (judged by the
 * module's clock, `now` in seconds) is still open: the one case where a retired token may repeat its refresh.
 * @internal
 */
export function isRetiredInGrace(session: StoredSession, presented: PresentedToken, policy: SessionPolicy, now: number): boolean {
  const retired = session.rotation;
  const grace = policy.refreshGracePeriod;
  return policy.rotateRefreshTokens && retired !== null && grace > 0 && now - retired.rotatedAt <= grace
    && presented.id === (presented.kind === 'refresh' ? retired.refreshUid : retired.accessUid);
}
