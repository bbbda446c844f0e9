import type { ExecutionContext } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import type { TokenClaimsOptions } from '../interfaces/jwt-sessions-options.interface.js';
import { mergeClaims } from '../tokens/merge-claims.js';
import { TokenClaims } from './token-claims.decorator.js';

/**
 * The claims of a route: `@TokenClaims()` on the class, then on the handler, then the auth decorator's own, field by
 * field; undefined when none of them asks for any (the module's own checks then apply alone). @internal
 */
export function routeClaims(reflector: Reflector, context: ExecutionContext, own?: TokenClaimsOptions): TokenClaimsOptions | undefined {
  const claims = mergeClaims(reflector.get(TokenClaims, context.getClass()), reflector.get(TokenClaims, context.getHandler()), own);
  return Object.keys(claims).length === 0 ? undefined : claims;
}
