import { Injectable, type PipeTransform } from '@nestjs/common';
import { JwtSessionsConfig } from '../config/jwt-sessions.config.js';
import type { TokenClaimsOptions } from '../interfaces/jwt-sessions-options.interface.js';
import { SessionService } from '../session/session.service.js';
import type { SessionRequest } from '../transport/session-request.js';
import { findToken } from '../transport/token-extractor.js';
import { authContextOf, pick } from './auth-context.js';

/** @internal What `@TokenPayload()` hands its pipe: the request, and what to pick from it. */
export interface PayloadQuery {
  request: object;
  field?: string;
  claims: TokenClaimsOptions;
}

/**
 * Resolves `@TokenPayload()`: the guard's verified payload on a guarded route; on an unguarded one, the payload of
 * the access token the request carries (header, then cookie), verified with its session, or `{}` when there is none.
 * @internal
 */
@Injectable()
export class TokenPayloadPipe implements PipeTransform<PayloadQuery, Promise<unknown>> {
  constructor(
    private readonly sessions: SessionService,
    private readonly config: JwtSessionsConfig,
  ) {}

  async transform(query: PayloadQuery): Promise<unknown> {
    const guarded = authContextOf(query.request);
    if (guarded) return pick(guarded.payload, query.field);
    const found = findToken(query.request as SessionRequest, 'access', 'auto', this.config);
    if (!found) return pick({}, query.field);
    const { payload } = await this.sessions.authorizeAccess(found.token, query.claims);
    return pick(payload, query.field);
  }
}
