import { applyDecorators, SetMetadata, UseGuards } from '@nestjs/common';
import { AUTH_METADATA } from '../jwt-sessions.constants.js';
import type { AuthMode, AuthOptions, AuthRule } from './auth-rule.js';
import { JwtSessionsGuard } from './jwt-sessions.guard.js';

function auth(mode: AuthMode, options: AuthOptions): MethodDecorator & ClassDecorator {
  const rule: AuthRule = { mode, transport: options.transport ?? 'auto', claims: options.claims };
  return applyDecorators(SetMetadata(AUTH_METADATA, rule), UseGuards(options.guard ?? JwtSessionsGuard));
}

/**
 * Requires a live access token (the gem's `authorize_access_request!`).
 * @example
 * ```ts
 * @AccessAuth()                          // header, then cookie + CSRF
 * @AccessAuth({ transport: 'cookie' })   // authorize_by_access_cookie!
 * ```
 * @publicApi
 */
export function AccessAuth(options: AuthOptions = {}): MethodDecorator & ClassDecorator {
  return auth('access', options);
}

/**
 * Requires a live refresh token (the gem's `authorize_refresh_request!`).
 * @example
 * ```ts
 * @RefreshAuth({ transport: 'header' })  // authorize_by_refresh_header!
 * @Post('refresh')
 * refresh(@FoundToken() token: string) { return this.sessions.refresh(token); }
 * ```
 * @publicApi
 */
export function RefreshAuth(options: AuthOptions = {}): MethodDecorator & ClassDecorator {
  return auth('refresh', options);
}

/**
 * Requires an access token of a live session that allows refresh by access; the token may have expired
 * (the gem's `authorize_refresh_by_access_request!`), but its signature and other claims are verified.
 * @example
 * ```ts
 * @RefreshByAccessAuth()
 * @Post('refresh_by_access')
 * refresh(@FoundToken() token: string) { return this.sessions.refreshByAccess(token); }
 * ```
 * @publicApi
 */
export function RefreshByAccessAuth(options: AuthOptions = {}): MethodDecorator & ClassDecorator {
  return auth('refresh-by-access', options);
}
