export {
  JwtSessionsError,
  MalconfiguredError,
  InvalidPayloadError,
  UnauthorizedError,
  ClaimsVerificationError,
  ExpiredError,
  StoreUnavailableError,
} from './jwt-sessions.errors.js';
export type { JwtSessionsErrorCode } from './jwt-sessions.errors.js';
