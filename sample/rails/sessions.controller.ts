import { Controller, Delete, Get } from '@nestjs/common';
import { AccessAuth, SessionService, TokenPayload, type AccessTokenPayload, type SessionInfo } from '../../lib/index.js';
import { userIdOf, userNamespace } from './current-user.js';

/** The caller's sessions on every device: list them, or log out everywhere. */
@Controller('sessions')
@AccessAuth()
export class SessionsController {
  constructor(private readonly sessions: SessionService) {}

  @Get()
  async list(@TokenPayload() payload: AccessTokenPayload): Promise<{ sessions: Array<SessionInfo & { current: boolean }> }> {
    const sessions = await this.sessions.listSessions(userNamespace(userIdOf(payload)));
    return { sessions: sessions.map((session) => ({ ...session, current: session.id === payload.ruid })) };
  }

  @Delete()
  async flushAll(@TokenPayload() payload: AccessTokenPayload): Promise<{ flushed: number }> {
    return { flushed: await this.sessions.flushNamespaced(userNamespace(userIdOf(payload))) };
  }
}
