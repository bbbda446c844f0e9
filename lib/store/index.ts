export { TokenStore } from './token-store.js';
export { MemoryTokenStore } from './memory-token.store.js';
export type { StoredSession, AccessLink } from './stored-session.js';
