import { Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { stringifySetCookie } from 'cookie';
import { JwtSessionsConfig } from '../config/jwt-sessions.config.js';
import type { RefreshedTokens, SessionTokens, TokenType } from '../interfaces/session.interface.js';

/**
 * Writes and clears the session cookies on a response (Express or Fastify, no cookie plugin needed): HttpOnly, no
 * Domain, Path=/ (the refresh cookie: `cookieOptions.refreshPath`), SameSite and Secure from `cookieOptions`, names
 * with the `__Host-` prefix when `cookieOptions.hostPrefix` is on. They are browser-session cookies: the access
 * cookie must outlive its token, so that refresh by access can read the expired one.
 * @example
 * ```ts
 * @Post('login')
 * async login(@Res({ passthrough: true }) res: unknown) {
 *   const tokens = await this.sessions.login({ payload });
 *   this.cookies.set(res, tokens);
 *   return { csrf: tokens.csrf };
 * }
 * ```
 * @publicApi
 */
@Injectable()
export class SessionCookies {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly config: JwtSessionsConfig,
  ) {}

  /** Sets the access cookie, and the refresh cookie when the tokens carry one (a login, or a rotating refresh). */
  set(response: unknown, tokens: SessionTokens | RefreshedTokens): void {
    this.write(response, 'access', tokens.access);
    if (tokens.refresh !== undefined) this.write(response, 'refresh', tokens.refresh);
  }

  /** Expires both session cookies (logout). */
  clear(response: unknown): void {
    this.write(response, 'access', '', new Date(0));
    this.write(response, 'refresh', '', new Date(0));
  }

  private write(response: unknown, type: TokenType, value: string, expires?: Date): void {
    const line = stringifySetCookie({
      name: this.config.cookies[type],
      value,
      httpOnly: true,
      path: type === 'refresh' ? this.config.cookieOptions.refreshPath : '/',
      secure: this.config.cookieOptions.secure,
      sameSite: this.config.cookieOptions.sameSite,
      expires,
    });
    this.adapterHost.httpAdapter.appendHeader(response, 'Set-Cookie', line);
  }
}
