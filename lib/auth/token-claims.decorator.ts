import { Reflector } from '@nestjs/core';
import type { TokenClaimsOptions } from '../interfaces/jwt-sessions-options.interface.js';

/**
 * Claims to verify on the tokens of a controller or a handler (the handler's win), like the gem's `token_claims`.
 * @example
 * ```ts
 * @TokenClaims({ audience: ['admin', 'staff'], leeway: 15 })
 * @AccessAuth()
 * @Get('admin')
 * dashboard() {}
 * ```
 * @publicApi
 */
export const TokenClaims = Reflector.createDecorator<TokenClaimsOptions>();
