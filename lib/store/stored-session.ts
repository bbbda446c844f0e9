/**
 * A session as a store keeps it. Times are Unix seconds, like JWT `exp`.
 * `accessExpiresAt` is 0 once the namespace's access tokens were flushed (the gem's `"0"` link): the access
 * token is then refused everywhere, but `accessUid` is kept so that this one token may still refresh by access.
 * @publicApi
 */
export interface StoredSession {
  /** Session id: the refresh token's uid. */
  uid: string;
  namespace: string | null;
  /** The raw CSRF secret, base64 of 32 random bytes; responses carry it masked. */
  csrf: string;
  /** uid of the last access token issued: the only one this session honours. */
  accessUid: string;
  accessExpiresAt: number;
  /** The refresh token's `exp`: the session ends then, whatever refreshes happen. */
  expiresAt: number;
  createdAt: number;
  refreshByAccessAllowed: boolean;
}

/** The part of a session a refresh rewrites. @publicApi */
export type AccessLink = Pick<StoredSession, 'accessUid' | 'accessExpiresAt' | 'csrf'>;
