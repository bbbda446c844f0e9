import { Module } from '@nestjs/common';
import { JwtSessionsModule } from '../lib/index.js';
import { SampleConfig } from './config/sample-config.js';
import { SampleConfigModule } from './config/sample-config.module.js';
import { HomeController } from './home.controller.js';
import { LoginController } from './rails/login.controller.js';
import { RefreshController } from './rails/refresh.controller.js';
import { SessionsController } from './rails/sessions.controller.js';
import { UsersController } from './rails/users.controller.js';
import { SinatraApiController } from './sinatra/sinatra-api.controller.js';
import { SpaController } from './spa.controller.js';
import { UsersService } from './users/users.service.js';

@Module({
  imports: [
    SampleConfigModule,
    JwtSessionsModule.forRootAsync({
      imports: [SampleConfigModule],
      inject: [SampleConfig],
      useFactory: (config: SampleConfig) => ({
        store: config.store === 'memory' ? 'memory'
          : config.redisClusterNodes ? { type: 'redis', cluster: config.redisClusterNodes } : { type: 'redis', url: config.redisUrl },
        signingKey: config.signingKey,
        accessExpiresIn: config.accessExpiresIn,
        refreshExpiresIn: config.refreshExpiresIn,
        // Defence in depth next to CSRF: cookie-authenticated unsafe requests the browser marks as cross-site are refused.
        cookieOptions: { secure: config.production, rejectCrossSite: true },
        ...(config.rotateRefresh ? { rotateRefreshTokens: true, refreshGracePeriod: config.refreshGrace } : {}),
      }),
    }),
  ],
  controllers: [HomeController, SinatraApiController, LoginController, RefreshController, UsersController, SessionsController, SpaController],
  providers: [UsersService],
})
export class AppModule {}
