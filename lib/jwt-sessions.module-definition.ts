import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { JwtSessionsModuleOptions } from './interfaces/jwt-sessions-options.interface.js';

/** @internal */
export const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN: JWT_SESSIONS_MODULE_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<JwtSessionsModuleOptions>({ moduleName: 'JwtSessions' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createJwtSessionsOptions')
  .setExtras({ isGlobal: false }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();
