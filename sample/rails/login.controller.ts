import { Body, Controller, Delete, Header, Headers, HttpCode, Ip, Post, Res, UseGuards } from '@nestjs/common';
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
  async login(
    @Body(ValidatedBody(LoginDto)) credentials: LoginDto,
    @Headers('user-agent') userAgent: string | undefined,
    @Ip() ip: string,
  ): Promise<SessionTokens> {
    return this.startSession(credentials, { userAgent, ip });
  }

  @Post('login_with_cookies')
  @HttpCode(200)
  @UseGuards(JsonOnlyGuard)
  async loginWithCookies(
    @Body(ValidatedBody(LoginDto)) credentials: LoginDto,
    @Headers('user-agent') userAgent: string | undefined,
    @Ip() ip: string,
    @Res({ passthrough: true }) response: unknown,
  ): Promise<{ csrf: string }> {
    const tokens = await this.startSession(credentials, { userAgent, ip });
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

  /** The device is recorded with the session, so `GET /sessions` can show where the user is logged in. */
  private async startSession(credentials: LoginDto, device: { userAgent?: string; ip?: string }): Promise<SessionTokens> {
    const user = await this.users.authenticate(credentials.email, credentials.password);
    if (!user) throw new UnauthorizedError('Invalid email or password');
    return this.sessions.login({
      payload: { user_id: user.id },
      namespace: userNamespace(user.id),
      refreshByAccessAllowed: true,
      ...device,
    });
  }
}
