import { Controller, Delete, Get, NotFoundException, Param } from '@nestjs/common';
import { AccessAuth, SessionService, TokenPayload, type AccessTokenPayload, type SessionInfo } from '../../lib/index.js';
import { userIdOf, userNamespace } from './current-user.js';

/** The caller's sessions on every device: list them, end one device, or log out everywhere. */
@Controller('sessions')
@AccessAuth()
export class SessionsController {
  constructor(private readonly sessions: SessionService) {}

  /** Oldest first; the caller's own session is marked `current`. */
  @Get()
  async list(@TokenPayload() payload: AccessTokenPayload): Promise<{ sessions: SessionInfo[] }> {
    return { sessions: await this.sessions.listSessions(userNamespace(userIdOf(payload)), payload.ruid) };
  }

  @Delete()
  async flushAll(@TokenPayload() payload: AccessTokenPayload): Promise<{ flushed: number }> {
    return { flushed: await this.sessions.flushNamespaced(userNamespace(userIdOf(payload))) };
  }

  /** Ends one of the caller's sessions (one device); 404 for an id that is not one of them. */
  @Delete(':id')
  async revoke(@TokenPayload() payload: AccessTokenPayload, @Param('id') id: string): Promise<{ revoked: number }> {
    const revoked = await this.sessions.revokeSession(userNamespace(userIdOf(payload)), id);
    if (revoked === 0) throw new NotFoundException('No such session');
    return { revoked };
  }
}
