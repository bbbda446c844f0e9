import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { JwtSessionsConfig } from '../config/jwt-sessions.config.js';
import { InvalidPayloadError } from '../errors/jwt-sessions.errors.js';
import type { TokenType } from '../interfaces/session.interface.js';
import { MAX_COOKIE_BYTES } from '../jwt-sessions.constants.js';
import type { StoredSession } from '../store/stored-session.js';
import { TokenCodec } from '../tokens/token-codec.js';

/**
 * Signs a session's tokens with the reserved claims set by the server, after the app's claims so they always win:
 * an access token names itself (`uid`) and its session (`ruid`); a refresh token names its session (`uid`) and, under
 * rotation, its own id (`rid`). A token the module would not read back, or a browser would not keep as a cookie, is
 * refused with the option that made it.
 * @internal
 */
@Injectable()
export class TokenIssuer {
  constructor(
    private readonly codec: TokenCodec,
    private readonly config: JwtSessionsConfig,
  ) {}

  async access(claims: Record<string, unknown>, session: Pick<StoredSession, 'uid' | 'accessUid' | 'accessExpiresAt'>, now: number): Promise<string> {
    const token = await this.codec.sign({ ...claims, uid: session.accessUid, ruid: session.uid, iat: now, exp: session.accessExpiresAt }, 'access');
    return this.fitting(token, 'access', 'payload');
  }

  async refresh(claims: Record<string, unknown>, session: Pick<StoredSession, 'uid' | 'refreshUid' | 'expiresAt'>, now: number): Promise<string> {
    const rid = session.refreshUid ? { rid: session.refreshUid } : {};
    const token = await this.codec.sign({ ...claims, uid: session.uid, ...rid, iat: now, exp: session.expiresAt }, 'refresh');
    return this.fitting(token, 'refresh', 'refreshPayload');
  }

  private fitting(token: string, type: TokenType, option: string): string {
    const limit = Math.min(this.config.maxTokenLength, MAX_COOKIE_BYTES - this.config.cookies[type].length - 1);
    if (token.length > limit) {
      throw new InvalidPayloadError(`${option} makes a ${token.length}-character ${type} token; the limit is ${limit} (maxTokenLength, and what a cookie can carry)`);
    }
    return token;
  }
}

/** 128 random bits for a token id: as unguessable as a UUID, 14 characters shorter in every token and record. @internal */
export function newTokenId(): string {
  return randomBytes(16).toString('base64url');
}
