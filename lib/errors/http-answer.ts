import type { JwtSessionsErrorCode } from './jwt-sessions.errors.js';

/** How one error code is answered over HTTP. */
export interface HttpAnswer {
  status: number;
  error: string;
  /** Whether the message goes to the client; configuration details never do. */
  exposeMessage: boolean;
}

const UNAUTHORIZED: HttpAnswer = { status: 401, error: 'Unauthorized', exposeMessage: true };

/** The one place where errors meet HTTP status codes. */
const ANSWERS: Record<JwtSessionsErrorCode, HttpAnswer> = {
  ERR_JWT_SESSIONS_UNAUTHORIZED: UNAUTHORIZED,
  ERR_JWT_SESSIONS_CLAIMS_VERIFICATION: UNAUTHORIZED,
  ERR_JWT_SESSIONS_EXPIRED: UNAUTHORIZED,
  ERR_JWT_SESSIONS_INVALID_PAYLOAD: UNAUTHORIZED,
  ERR_JWT_SESSIONS_STORE_UNAVAILABLE: { status: 503, error: 'Service Unavailable', exposeMessage: false },
  ERR_JWT_SESSIONS_MALCONFIGURED: { status: 500, error: 'Internal Server Error', exposeMessage: false },
};

/** @internal */
export function httpAnswerFor(code: JwtSessionsErrorCode): HttpAnswer {
  return ANSWERS[code];
}
