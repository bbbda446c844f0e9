export { JwtSessionsModule } from './jwt-sessions.module.js';
export type { JwtSessionsModuleExtras } from './jwt-sessions.module-definition.js';
export type { JsonWebKeySet } from './tokens/keyring.js';
export { SessionService } from './session/session.service.js';
export type { AuthorizedToken } from './session/session.service.js';
export * from './auth/index.js';
export * from './config/index.js';
export * from './errors/index.js';
export * from './events/index.js';
export * from './interfaces/index.js';
export * from './store/index.js';
export * from './transport/index.js';
export { Clock, SystemClock } from './clock/clock.js';
export {
  DEFAULT_ACCESS_COOKIE, DEFAULT_ACCESS_EXPIRES_IN, DEFAULT_ACCESS_HEADER, DEFAULT_ALGORITHM, DEFAULT_CSRF_HEADER,
  DEFAULT_MAX_TOKEN_LENGTH, DEFAULT_REFRESH_COOKIE, DEFAULT_REFRESH_EXPIRES_IN, DEFAULT_REFRESH_HEADER,
} from './jwt-sessions.constants.js';
