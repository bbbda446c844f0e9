import { HttpCode, Injectable, Post, Res } from '@nestjs/common';
import { ClaimlessPayload, FoundToken, RefreshAuth, RefreshByAccessAuth, SessionCookies, SessionService, TokenPayload } from '../../../lib/index.js';

/**
 * The refresh routes the security fixtures' controllers share (they extend it): POST /refresh and
 * POST /refresh-by-access carry the presented token's `user_id` and `role` into the new access token, answer the
 * tokens and set the cookies.
 */
@Injectable()
export abstract class RefreshRoutes {
  constructor(
    protected readonly sessions: SessionService,
    protected readonly cookies: SessionCookies,
  ) {}

  @Post('refresh')
  @HttpCode(200)
  @RefreshAuth()
  async refresh(@FoundToken() token: string, @TokenPayload() payload: Record<string, unknown>, @Res({ passthrough: true }) response: unknown) {
    const tokens = await this.sessions.refresh(token, { payload: { user_id: payload.user_id, role: payload.role } });
    this.cookies.set(response, tokens);
    return tokens;
  }

  @Post('refresh-by-access')
  @HttpCode(200)
  @RefreshByAccessAuth()
  async refreshByAccess(@FoundToken() token: string, @ClaimlessPayload() payload: Record<string, unknown>, @Res({ passthrough: true }) response: unknown) {
    const tokens = await this.sessions.refreshByAccess(token, { payload: { user_id: payload.user_id, role: payload.role } });
    this.cookies.set(response, tokens);
    return tokens;
  }
}
