export { TokenStore } from './token-store.js';
export { MemoryTokenStore } from './memory-token.store.js';
export type { MemoryStoreOptions } from './memory-token.store.js';
export type {
  StoredSession, AccessLink, RetiredTokens, RotationLink, PresentedToken, SuccessorTokens, RotationResult, RefreshRelinkResult,
} from './stored-session.js';
export { RedisTokenStore } from './redis/redis-token.store.js';
export type { RedisStoreOptions } from './redis/redis-store.options.js';
