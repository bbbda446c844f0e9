import type { INestApplicationContext } from '@nestjs/common';
import { JwtSessionsConfig } from '../config/jwt-sessions.config.js';
import type { LoginOptions, SessionTokens } from '../interfaces/session.interface.js';
import { SessionService } from '../session/session.service.js';

/** A logged-in session, ready to send with supertest: `.set(session.headers)` or `.set(session.cookieHeaders)`. @publicApi */
export interface TestSession {
  tokens: SessionTokens;
  /** The access token in the access header, keyed by its lower-cased name (`authorization: Bearer ...` by default). */
  headers: Record<string, string>;
  /** The refresh token in the refresh header (`X-Refresh-Token` by default). */
  refreshHeaders: Record<string, string>;
  /** Both tokens as the `Cookie` header, with the CSRF header that unsafe cookie requests need. */
  cookieHeaders: Record<string, string>;
  /** The session id (the access token's `ruid`), as `listSessions` and `revokeSession` name it. */
  sessionId: string;
}

/**
 * Mints a logged-in session for a payload through the app's own `SessionService`, and answers the headers or cookies
 * to send with it (names from the module's config).
 * @example
 * ```ts
 * const session = await loginAs(app, { payload: { user_id: 1 } });
 * await request(app.getHttpServer()).get('/me').set(session.headers).expect(200);
 * await request(app.getHttpServer()).post('/posts').set(session.cookieHeaders).expect(201);
 * ```
 * @publicApi
 */
export async function loginAs(app: INestApplicationContext, options: LoginOptions = {}): Promise<TestSession> {
  const tokens = await app.get(SessionService, { strict: false }).login(options);
  const { headers, cookies } = app.get(JwtSessionsConfig, { strict: false });
  const ruid = JSON.parse(Buffer.from(tokens.access.split('.')[1], 'base64url').toString('utf8')).ruid as string;
  return {
    tokens,
    headers: { [headers.access]: `Bearer ${tokens.access}` },
    refreshHeaders: { [headers.refresh]: tokens.refresh },
    cookieHeaders: { cookie: `${cookies.access}=${tokens.access}; ${cookies.refresh}=${tokens.refresh}`, [headers.csrf]: tokens.csrf },
    sessionId: ruid,
  };
}
