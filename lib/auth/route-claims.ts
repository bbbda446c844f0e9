import type { ExecutionContext } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import type { TokenClaimsOptions } from '../interfaces/jwt-sessions-options.interface.js';
import { mergeClaims } from '../tokens/merge-claims.js';
import { TokenClaims } from './token-claims.decorator.js';

/** The claims of a route: `@TokenClaims()` on the class, then on the handler, then the auth decorator's own, field by field. @internal */
export function routeClaims(reflector: Reflector, context: ExecutionContext, own?: TokenClaimsOptions): TokenClaimsOptions {
  const [onHandler, onClass] = [context.getHandler(), context.getClass()].map((target) => reflector.get(TokenClaims, target));
  return mergeClaims(onClass, onHandler, own);
}
