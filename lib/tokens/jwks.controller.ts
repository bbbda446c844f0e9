import { Controller, Get, Header, Inject, type Type } from '@nestjs/common';
import { JwtSessionsConfig } from '../config/jwt-sessions.config.js';
import { MalconfiguredError } from '../errors/jwt-sessions.errors.js';
import type { JsonWebKeySet } from './keyring.js';

/**
 * A controller serving the keyring's public keys at `path` (the `jwksPath` module option), so other services can
 * verify our access tokens. Refuses to start with HMAC keys only, as they are never published.
 * @internal
 */
export function jwksController(path: string): Type<unknown> {
  @Controller(path)
  class JwksController {
    constructor(@Inject(JwtSessionsConfig) private readonly config: JwtSessionsConfig) {
      if (config.jwks.keys.length === 0) {
        throw new MalconfiguredError('jwksPath needs at least one asymmetric key: HMAC secrets are never published');
      }
    }

    @Get()
    @Header('Cache-Control', 'public, max-age=300')
    @Header('Content-Type', 'application/jwk-set+json')
    keys(): JsonWebKeySet {
      return this.config.jwks;
    }
  }
  return JwksController;
}
