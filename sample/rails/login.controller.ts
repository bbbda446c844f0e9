import { Body, Controller, Delete, Header, HttpCode, Post, Res, UseGuards } from '@nestjs/common';
import {
  AccessAuth, FoundToken, RefreshAuth, SessionCookies, SessionService, TokenPayload, UnauthorizedError,
  type AccessTokenPayload, type SessionTokens,
} from '../../lib/index.js';
import { JsonOnlyGuard } from '../json-only.guard.js';
import { LoginDto } from '../users/credentials.dto.js';
import { UsersService } from '../users/users.service.js';
import { ValidatedBody } from '../validated-body.pipe.js';
import { userNamespace } from './current-user.js';

/** JSON `"ok"`, as the gem's Rails example renders it. */
const OK = JSON.stringify('ok');

/** The gem's Rails example login: by email and password, with tokens in the body or in cookies; logout. */
@Controller()
export class LoginController {
  constructor(
    private readonly sessions: SessionService,
    private readonly users: UsersService,
    private readonly cookies: SessionCookies,
  ) {}

  @Post('login')
  @HttpCode(200)
  @UseGuards(JsonOnlyGuard)
  async login(@Body(ValidatedBody(LoginDto)) credentials: LoginDto): Promise<SessionTokens> {
    return this.startSession(credentials);
  }

  @Post('login_with_cookies')
  @HttpCode(200)
  @UseGuards(JsonOnlyGuard)
  async loginWithCookies(
    @Body(ValidatedBody(LoginDto)) credentials: LoginDto,
    @Res({ passthrough: true }) response: unknown,
  ): Promise<{ csrf: string }> {
    const tokens = await this.startSession(credentials);
    this.cookies.set(response, tokens);
    return { csrf: tokens.csrf };
  }

  @Delete('login')
  @AccessAuth()
  @Header('Content-Type', 'application/json')
  async logout(@TokenPayload() payload: AccessTokenPayload, @Res({ passthrough: true }) response: unknown): Promise<string> {
    await this.sessions.flushByAccessPayload(payload);
    this.cookies.clear(response);
    return OK;
  }

  @Delete('login/destroy_by_refresh')
  @RefreshAuth()
  @Header('Content-Type', 'application/json')
  async logoutByRefresh(@FoundToken() token: string, @Res({ passthrough: true }) response: unknown): Promise<string> {
    await this.sessions.flushByToken(token);
    this.cookies.clear(response);
    return OK;
  }

  private async startSession(credentials: LoginDto): Promise<SessionTokens> {
    const user = await this.users.authenticate(credentials.email, credentials.password);
    if (!user) throw new UnauthorizedError('Invalid email or password');
    return this.sessions.login({
      payload: { user_id: user.id },
      namespace: userNamespace(user.id),
      refreshByAccessAllowed: true,
    });
  }
}
