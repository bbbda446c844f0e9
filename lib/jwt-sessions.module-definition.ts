import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { JwtSessionsModuleOptions } from './interfaces/jwt-sessions-options.interface.js';
import { jwksController } from './tokens/jwks.controller.js';

/** Options of `forRoot` / `forRootAsync` that shape the module itself, so they cannot come from a factory. @publicApi */
export interface JwtSessionsModuleExtras {
  /** Register the module globally, so feature modules need not import it. @default false */
  isGlobal?: boolean;
  /** Serve the public keys as a JWKS document at this path (for example `.well-known/jwks.json`); off by default. */
  jwksPath?: string;
}

/** @internal */
export const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN: JWT_SESSIONS_MODULE_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<JwtSessionsModuleOptions>({ moduleName: 'JwtSessions' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createJwtSessionsOptions')
  // Every extra is listed in the defaults: Nest strips only those keys from the options it hands the factory.
  .setExtras<JwtSessionsModuleExtras>({ isGlobal: false, jwksPath: undefined }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
    controllers: extras.jwksPath === undefined ? [] : [jwksController(extras.jwksPath)],
  }))
  .build();
