import { Controller, HttpCode, Post, Res } from '@nestjs/common';
import {
  ClaimlessPayload, FoundToken, RefreshAuth, RefreshByAccessAuth, SessionCookies, SessionService, TokenPayload,
  UnauthorizedError, type AccessTokenPayload, type RefreshedTokens, type RefreshTokenPayload,
} from '../../lib/index.js';
import { userIdOf } from './current-user.js';

/** The gem's Rails example refresh endpoints. */
@Controller()
export class RefreshController {
  constructor(
    private readonly sessions: SessionService,
    private readonly cookies: SessionCookies,
  ) {}

  @Post('refresh')
  @HttpCode(200)
  @RefreshAuth()
  refresh(@FoundToken() token: string, @TokenPayload() payload: RefreshTokenPayload): Promise<RefreshedTokens> {
    return this.sessions.refresh(token, { payload: { user_id: userIdOf(payload) } });
  }

  /** Refresh by an expired access token in a cookie; a refresh while it is still live is taken as a hijack. */
  @Post('refresh_by_access')
  @HttpCode(200)
  @RefreshByAccessAuth()
  async refreshByAccess(
    @FoundToken() token: string,
    @ClaimlessPayload() payload: AccessTokenPayload,
    @Res({ passthrough: true }) response: unknown,
  ): Promise<{ csrf: string }> {
    const tokens = await this.sessions.refreshByAccess(token, {
      payload: { user_id: userIdOf(payload) },
      onEarlyRefresh: () => {
        throw new UnauthorizedError('Malicious activity detected');
      },
    });
    this.cookies.set(response, tokens);
    return { csrf: tokens.csrf };
  }
}
