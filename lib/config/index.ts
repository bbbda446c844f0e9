export { JwtSessionsConfig } from './jwt-sessions.config.js';
export type { HeaderNames, CookieNames, CookieSettings, SessionPolicy } from './jwt-sessions.config.js';
