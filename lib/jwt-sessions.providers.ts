import type { Provider } from '@nestjs/common';
import { Clock, SystemClock } from './clock/clock.js';
import { JwtSessionsConfig } from './config/jwt-sessions.config.js';
import { resolveJwtSessionsConfig } from './config/resolve-config.js';
import { MalconfiguredError } from './errors/jwt-sessions.errors.js';
import type { JwtSessionsModuleOptions } from './interfaces/jwt-sessions-options.interface.js';
import { JWT_SESSIONS_MODULE_OPTIONS } from './jwt-sessions.module-definition.js';
import { MemoryTokenStore } from './store/memory-token.store.js';
import { RedisTokenStore } from './store/redis/redis-token.store.js';
import { TokenStore } from './store/token-store.js';

/** The validated options, built once at bootstrap. @internal */
export const configProvider: Provider = {
  provide: JwtSessionsConfig,
  useFactory: resolveJwtSessionsConfig,
  inject: [JWT_SESSIONS_MODULE_OPTIONS],
};

/** The store the options name: memory by default, Redis, or the user's own. @internal */
export const tokenStoreProvider: Provider = {
  provide: TokenStore,
  useFactory: (options: JwtSessionsModuleOptions): TokenStore => {
    const store = options?.store ?? 'memory';
    if (store === 'memory') return new MemoryTokenStore();
    if (store instanceof TokenStore) return store;
    if (typeof store === 'object' && store !== null && store.type === 'redis') return RedisTokenStore.fromOptions(store);
    if (typeof store === 'object' && store !== null && store.type === 'memory') {
      if (store.maxSessions !== undefined && !(Number.isInteger(store.maxSessions) && store.maxSessions > 0)) {
        throw new MalconfiguredError('store.maxSessions must be a positive whole number');
      }
      return new MemoryTokenStore(store);
    }
    throw new MalconfiguredError("store must be 'memory', { type: 'memory' | 'redis', ... } or an instance of TokenStore");
  },
  // After the config: a start that fails on a bad key must not have opened a Redis connection that keeps it alive.
  inject: [JWT_SESSIONS_MODULE_OPTIONS, JwtSessionsConfig],
};

/** The options' clock (a test's), or the real one. @internal */
export const clockProvider: Provider = {
  provide: Clock,
  useFactory: (options: JwtSessionsModuleOptions): Clock => {
    const clock = options?.clock;
    if (clock === undefined) return new SystemClock();
    if (!(clock instanceof Clock)) throw new MalconfiguredError('clock must be an instance of Clock');
    return clock;
  },
  inject: [JWT_SESSIONS_MODULE_OPTIONS],
};
