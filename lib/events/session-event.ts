/** Why sessions were flushed. @publicApi */
export type FlushReason = 'logout' | 'namespace' | 'others' | 'all' | 'revoked' | 'evicted' | 'reuse';

/**
 * A session lifecycle event. Every event names the session (or, for a bulk flush, the namespace) it is about;
 * none carries a token, a CSRF secret or a payload.
 * @publicApi
 */
export type SessionEvent =
  | { type: 'session.created'; sessionId: string; namespace: string | null }
  | { type: 'session.refreshed'; sessionId: string; namespace: string | null; rotated: boolean; replayed: boolean }
  /** `sessionId` for one session; a bulk flush names its namespace (or none for `all`) and counts. */
  | { type: 'session.flushed'; sessionId: string | null; namespace: string | null; count: number; reason: FlushReason }
  /** A retired refresh token (or an old access token on refresh by access) came back: its session was revoked. */
  | { type: 'refresh.reuse-detected'; sessionId: string; namespace: string | null; presented: 'refresh' | 'access' }
  /** A refresh came while the session's access token was still live (the gem's hijack signal). */
  | { type: 'refresh.early'; sessionId: string; namespace: string | null }
  | { type: 'csrf.failed'; sessionId: string; namespace: string | null };

/** The event of one type. @publicApi */
export type SessionEventOf<T extends SessionEvent['type']> = Extract<SessionEvent, { type: T }>;
