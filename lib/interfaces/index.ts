export type {
  JwtAlgorithm,
  KeyMaterial,
  SigningKeyOptions,
  TokenClaimsOptions,
  TokenTransport,
  SessionCookieOptions,
  JwtSessionsModuleOptions,
  JwtSessionsOptionsFactory,
} from './jwt-sessions-options.interface.js';
export type {
  JsonValue,
  SessionPayload,
  AccessTokenPayload,
  RefreshTokenPayload,
} from './token-payload.interface.js';
export { RESERVED_CLAIMS } from './token-payload.interface.js';
export type {
  RefreshedTokens,
  SessionTokens,
  EarlyRefreshCallback,
  LoginOptions,
  RefreshOptions,
  SessionInfo,
  TokenType,
} from './session.interface.js';
