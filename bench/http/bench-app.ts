import { Controller, Get, HttpCode, Module, Post, type DynamicModule } from '@nestjs/common';
import { AccessAuth, JwtSessionsModule } from '../../lib/index.js';
import { BENCH_SECRET, type Setup } from './setups.js';
import { MapLookupModule, PassGuardModule } from './floor-guards.js';
import { RedisGetModule } from './redis-get-guard.js';
import { StockJwtModule } from './stock-jwt.js';

/** The same trivial answer everywhere, so the setups differ by their guard only. */
@Controller()
class UnguardedController {
  @Get('ping')
  ping(): { ok: boolean } {
    return { ok: true };
  }

  @Post('ping')
  @HttpCode(200)
  post(): { ok: boolean } {
    return { ok: true };
  }
}

@Controller()
class AccessController {
  @AccessAuth()
  @Get('ping')
  ping(): { ok: boolean } {
    return { ok: true };
  }
}

@Controller()
class CookieController {
  @AccessAuth({ transport: 'cookie' })
  @Post('ping')
  @HttpCode(200)
  ping(): { ok: boolean } {
    return { ok: true };
  }
}

@Module({ controllers: [UnguardedController] })
class UnguardedModule {}

function sessionsModule(store: 'memory' | { type: 'redis'; url: string }, controller: typeof AccessController): DynamicModule {
  return {
    module: class JwtSessionsBenchModule {},
    imports: [JwtSessionsModule.forRoot({ signingKey: BENCH_SECRET, store })],
    controllers: [controller],
  };
}

/** The app module of a setup. */
export function benchModule(setup: Setup, redisUrl: string | undefined): DynamicModule | typeof UnguardedModule {
  const redis = { type: 'redis' as const, url: redisUrl ?? '' };
  switch (setup) {
    case 'unguarded':
    case 'unguarded-post':
    case 'unguarded-twin': return UnguardedModule;
    case 'pass-guard': return PassGuardModule;
    case 'map-lookup': return MapLookupModule;
    case 'passport-jwt': return { module: class StockBenchModule {}, imports: [StockJwtModule] };
    case 'redis-get': return RedisGetModule;
    case 'access-memory': return sessionsModule('memory', AccessController);
    case 'access-redis': return sessionsModule(redis, AccessController);
    case 'cookie-csrf-redis': return sessionsModule(redis, CookieController);
  }
}
