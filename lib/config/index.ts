export { JwtSessionsConfig } from './jwt-sessions.config.js';
export type { HeaderNames, CookieNames } from './jwt-sessions.config.js';
