import { Controller, Get, HttpCode, Post } from '@nestjs/common';
import {
  AccessAuth, ClaimlessPayload, FoundToken, RefreshAuth, RefreshByAccessAuth, SessionService, TokenPayload,
  type RefreshedTokens, type SessionPayload, type SessionTokens,
} from '../../lib/index.js';

const NAMESPACE = 'custom-namespace';

/** The gem's Sinatra example API, route for route (test/support/dummy_sinatra_api/app.rb). */
@Controller('api/v1')
export class SinatraApiController {
  constructor(private readonly sessions: SessionService) {}

  @Post('login')
  @HttpCode(200)
  login(): Promise<SessionTokens> {
    return this.sessions.login({
      payload: { key: 'big access value' },
      refreshPayload: { refresh_key: 'small refresh value' },
      refreshByAccessAllowed: true,
    });
  }

  @Post('refresh')
  @HttpCode(200)
  @RefreshAuth()
  refresh(@FoundToken() token: string, @TokenPayload() payload: SessionPayload): Promise<RefreshedTokens> {
    return this.refreshWith(token, payload, 'reloaded access value');
  }

  @Post('refresh_by_cookies')
  @HttpCode(200)
  @RefreshAuth({ transport: 'cookie' })
  refreshByCookies(@FoundToken() token: string, @TokenPayload() payload: SessionPayload): Promise<RefreshedTokens> {
    return this.refreshWith(token, payload, 'new access value');
  }

  @Post('refresh_by_headers')
  @HttpCode(200)
  @RefreshAuth({ transport: 'header' })
  refreshByHeaders(@FoundToken() token: string, @TokenPayload() payload: SessionPayload): Promise<RefreshedTokens> {
    return this.refreshWith(token, payload, 'a little shy access value');
  }

  @Post('refresh_by_access')
  @HttpCode(200)
  @RefreshByAccessAuth()
  refreshByAccess(@FoundToken() token: string, @ClaimlessPayload() payload: SessionPayload): Promise<RefreshedTokens> {
    return this.refreshByAccessWith(token, payload, 'a big brave access value');
  }

  @Post('refresh_by_access_by_cookies')
  @HttpCode(200)
  @RefreshByAccessAuth({ transport: 'cookie' })
  refreshByAccessByCookies(@FoundToken() token: string, @ClaimlessPayload() payload: SessionPayload): Promise<RefreshedTokens> {
    return this.refreshByAccessWith(token, payload, 'such many auth methods much wow access value');
  }

  @Post('refresh_by_access_by_headers')
  @HttpCode(200)
  @RefreshByAccessAuth({ transport: 'header' })
  refreshByAccessByHeaders(@FoundToken() token: string, @ClaimlessPayload() payload: SessionPayload): Promise<RefreshedTokens> {
    return this.refreshByAccessWith(token, payload, 'yet another access value');
  }

  @Post('login_namespaced')
  @HttpCode(200)
  loginNamespaced(): Promise<SessionTokens> {
    return this.sessions.login({
      payload: { key: 'hellooo' },
      refreshPayload: { refresh_key: 'im a humble value' },
      namespace: NAMESPACE,
    });
  }

  @Post('refresh_namespaced')
  @HttpCode(200)
  @RefreshAuth()
  refreshNamespaced(@FoundToken() token: string, @TokenPayload() payload: SessionPayload): Promise<RefreshedTokens> {
    return this.refreshWith(token, payload, 'reloaded hellooo');
  }

  @Post('login_namespaced_with_refresh_by_access_allowed')
  @HttpCode(200)
  loginNamespacedWithRefreshByAccess(): Promise<SessionTokens> {
    return this.sessions.login({ payload: { key: 'guten tag' }, namespace: NAMESPACE, refreshByAccessAllowed: true });
  }

  @Post('refresh_by_access_namespaced')
  @HttpCode(200)
  @RefreshByAccessAuth()
  refreshByAccessNamespaced(@FoundToken() token: string, @ClaimlessPayload() payload: SessionPayload): Promise<RefreshedTokens> {
    return this.refreshByAccessWith(token, payload, 'reloaded guten tag');
  }

  @Get('payload')
  @AccessAuth()
  payload(@TokenPayload() payload: SessionPayload): SessionPayload {
    return payload;
  }

  @Get('payload_by_cookies')
  @AccessAuth({ transport: 'cookie' })
  payloadByCookies(@TokenPayload() payload: SessionPayload): SessionPayload {
    return payload;
  }

  @Get('payload_by_headers')
  @AccessAuth({ transport: 'header' })
  payloadByHeaders(@TokenPayload() payload: SessionPayload): SessionPayload {
    return payload;
  }

  @Get('payload_without_authorize')
  payloadWithoutAuthorize(@TokenPayload() payload: SessionPayload): SessionPayload {
    return payload;
  }

  /** The gem's example: the new access payload is the verified payload with a new `key`. */
  private refreshWith(token: string, payload: SessionPayload, key: string): Promise<RefreshedTokens> {
    return this.sessions.refresh(token, { payload: { ...payload, key } });
  }

  private refreshByAccessWith(token: string, payload: SessionPayload, key: string): Promise<RefreshedTokens> {
    return this.sessions.refreshByAccess(token, { payload: { ...payload, key } });
  }
}
