/** A JSON value a payload may carry. @publicApi */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** App data sewn into a token. Reserved claims below are set by the server and win over it. @publicApi */
export type SessionPayload = Record<string, unknown>;

/**
 * Claims the module sets on every token, or keeps for itself; an app payload cannot set them (they are dropped).
 * The token type travels in the signed `typ` header, which no payload reaches. @publicApi
 */
export const RESERVED_CLAIMS = ['uid', 'ruid', 'rid', 'exp', 'iat', 'jti', 'typ'] as const;

/** What a verified access token carries: the app's payload plus the reserved claims. @publicApi */
export type AccessTokenPayload<P extends SessionPayload = SessionPayload> = P & {
  /** This access token's id. */
  uid: string;
  /** The session's id (its refresh token's uid). */
  ruid: string;
  exp: number;
  iat: number;
};

/** What a verified refresh token carries. @publicApi */
export type RefreshTokenPayload<P extends SessionPayload = SessionPayload> = P & {
  /** The session's id. */
  uid: string;
  /** This refresh token's id, under refresh-token rotation. */
  rid?: string;
  exp: number;
  iat: number;
};
