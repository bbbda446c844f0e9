import type { StoredSession } from '../../lib/index.js';

/** The fields every store test leaves as a fresh login writes them: never refreshed, never rotated, no device. */
export function unrotated(refreshedAt: number): Pick<StoredSession, 'refreshedAt' | 'idleExpiresAt' | 'refreshUid' | 'rotation' | 'userAgent' | 'ip'> {
  return { refreshedAt, idleExpiresAt: 0, refreshUid: '', rotation: null, userAgent: null, ip: null };
}
