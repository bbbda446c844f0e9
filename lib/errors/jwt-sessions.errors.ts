import { HttpException } from '@nestjs/common';
import { httpAnswerFor } from './http-answer.js';

/** Stable codes, one per error class; clients and tests match on these, never on messages. */
export type JwtSessionsErrorCode =
  | 'ERR_JWT_SESSIONS_MALCONFIGURED'
  | 'ERR_JWT_SESSIONS_INVALID_PAYLOAD'
  | 'ERR_JWT_SESSIONS_UNAUTHORIZED'
  | 'ERR_JWT_SESSIONS_CLAIMS_VERIFICATION'
  | 'ERR_JWT_SESSIONS_EXPIRED'
  | 'ERR_JWT_SESSIONS_STORE_UNAVAILABLE';

/**
 * Base of every error this library throws (the gem's `JWTSessions::Errors::Error`).
 * It is an `HttpException`, so Nest answers it with the status from one table (`lib/errors/http-answer.ts`)
 * in any context without a filter to register.
 * @publicApi
 */
export abstract class JwtSessionsError extends HttpException {
  abstract readonly code: JwtSessionsErrorCode;

  constructor(message: string) {
    super(message, 500);
  }

  /** @internal Nest reads status and body through these two. */
  override getStatus(): number {
    return httpAnswerFor(this.code).status;
  }

  override getResponse(): object {
    const answer = httpAnswerFor(this.code);
    return { statusCode: answer.status, error: answer.error, code: this.code, message: answer.exposeMessage ? this.message : answer.error };
  }
}

/** Options are missing, invalid, or a key does not fit its algorithm. Thrown at bootstrap. @publicApi */
export class MalconfiguredError extends JwtSessionsError {
  readonly code = 'ERR_JWT_SESSIONS_MALCONFIGURED';
}

/** A token's payload lacks a key the session needs (uid, ruid), or a given payload is unusable. @publicApi */
export class InvalidPayloadError extends JwtSessionsError {
  readonly code: JwtSessionsErrorCode = 'ERR_JWT_SESSIONS_INVALID_PAYLOAD';
}

/** The request is not authorized: no token, a bad token, no live session, or a CSRF mismatch. @publicApi */
export class UnauthorizedError extends JwtSessionsError {
  readonly code: JwtSessionsErrorCode = 'ERR_JWT_SESSIONS_UNAUTHORIZED';
}

/** A JWT claim (iss, aud, sub, nbf, iat, type) failed verification. @publicApi */
export class ClaimsVerificationError extends UnauthorizedError {
  override readonly code: JwtSessionsErrorCode = 'ERR_JWT_SESSIONS_CLAIMS_VERIFICATION';
}

/** The token's `exp` has passed. @publicApi */
export class ExpiredError extends ClaimsVerificationError {
  override readonly code: JwtSessionsErrorCode = 'ERR_JWT_SESSIONS_EXPIRED';
}

/** The session store could not answer (down, timed out); the user is not logged out. @publicApi */
export class StoreUnavailableError extends JwtSessionsError {
  readonly code = 'ERR_JWT_SESSIONS_STORE_UNAVAILABLE';
}
