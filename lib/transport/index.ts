export type { SessionRequest } from './session-request.js';
export type { LocatedToken } from './token-extractor.js';
export { SessionCookies } from './session-cookies.js';
