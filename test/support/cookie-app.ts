import type request from 'supertest';
import { Controller, Delete, Get, HttpCode, Post, Res } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  AccessAuth, Clock, CurrentSession, JwtSessionsModule, RefreshAuth, SessionCookies, SessionService,
  TokenPayload, type AccessTokenPayload, type AuthContext, type JwtSessionsModuleOptions, type SessionCookieOptions,
} from '../../lib/index.js';
import { ManualClock } from './manual-clock.js';
import { TEST_SIGNING_KEY } from './setup.js';

/** An app that logs in with cookies through `SessionCookies`, reads them back, refreshes and logs out. */
@Controller()
class CookieController {
  constructor(private readonly sessions: SessionService, private readonly cookies: SessionCookies) {}

  @Post('login')
  @HttpCode(200)
  async login(@Res({ passthrough: true }) response: unknown) {
    const tokens = await this.sessions.login({ payload: { user_id: 1 } });
    this.cookies.set(response, tokens);
    return { csrf: tokens.csrf };
  }

  @AccessAuth()
  @Get('me')
  me(@CurrentSession() session: AuthContext) {
    return { source: session.source };
  }

  @RefreshAuth()
  @Post('auth/refresh')
  @HttpCode(200)
  async refresh(@CurrentSession() session: AuthContext, @Res({ passthrough: true }) response: unknown) {
    const tokens = await this.sessions.refresh(session.token);
    this.cookies.set(response, tokens);
    return { csrf: tokens.csrf };
  }

  @AccessAuth()
  @Delete('login')
  async logout(@TokenPayload() payload: AccessTokenPayload, @Res({ passthrough: true }) response: unknown) {
    await this.sessions.flushByAccessPayload(payload);
    this.cookies.clear(response);
  }
}

export async function bootCookieApp(cookieOptions: SessionCookieOptions, options: JwtSessionsModuleOptions = {}) {
  const clock = new ManualClock();
  const moduleRef = await Test.createTestingModule({
    imports: [JwtSessionsModule.forRoot({ signingKey: TEST_SIGNING_KEY, cookieOptions, ...options })],
    controllers: [CookieController],
  }).overrideProvider(Clock).useValue(clock).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return { app, clock };
}

export const setCookies = (response: request.Response): string[] => ([] as string[]).concat(response.headers['set-cookie'] ?? []);
/** `name=value` pairs to send back, as a browser would for a request to `path`. */
export const cookieHeader = (lines: string[], path = '/') => lines
  .filter((line) => { const cookiePath = /Path=([^;]+)/.exec(line)?.[1] ?? '/'; return path.startsWith(cookiePath); })
  .map((line) => line.split(';')[0]).join('; ');
