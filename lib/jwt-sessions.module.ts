import { Module } from '@nestjs/common';
import { CsrfCheck } from './auth/csrf-check.js';
import { JwtSessionsGuard } from './auth/jwt-sessions.guard.js';
import { TokenPayloadPipe } from './auth/token-payload.pipe.js';
import { Clock } from './clock/clock.js';
import { JwtSessionsConfig } from './config/jwt-sessions.config.js';
import { ConfigurableModuleClass } from './jwt-sessions.module-definition.js';
import { clockProvider, configProvider, tokenStoreProvider } from './jwt-sessions.providers.js';
import { SessionEvents } from './events/session-events.js';
import { SessionRefresher } from './session/session-refresher.js';
import { SessionService } from './session/session.service.js';
import { TokenIssuer } from './session/token-issuer.js';
import { TokenStore } from './store/token-store.js';
import { TokenCodec } from './tokens/token-codec.js';
import { SessionCookies } from './transport/session-cookies.js';

/**
 * Stateful JWT sessions: `JwtSessionsModule.forRoot({ signingKey })` or `forRootAsync({ useFactory, inject })`,
 * with `isGlobal: true` to skip importing it in every feature module.
 * @publicApi
 */
@Module({
  providers: [
    configProvider, tokenStoreProvider, clockProvider, TokenCodec, TokenIssuer, SessionRefresher, SessionEvents, SessionService,
    CsrfCheck, JwtSessionsGuard, TokenPayloadPipe, SessionCookies,
  ],
  // The guard and the pipe run in the importing module's injector, so what they inject is exported too.
  exports: [
    JwtSessionsConfig, TokenStore, Clock, TokenCodec, SessionEvents, SessionService, CsrfCheck, JwtSessionsGuard, TokenPayloadPipe, SessionCookies,
  ],
})
export class JwtSessionsModule extends ConfigurableModuleClass {}
