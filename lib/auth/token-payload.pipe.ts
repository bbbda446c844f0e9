import { Injectable, type ExecutionContext, type PipeTransform } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { JwtSessionsConfig } from '../config/jwt-sessions.config.js';
import { SessionService } from '../session/session.service.js';
import type { SessionRequest } from '../transport/session-request.js';
import { findToken } from '../transport/token-extractor.js';
import { authContextOf, pick } from './auth-context.js';
import { CsrfCheck } from './csrf-check.js';
import { routeClaims } from './route-claims.js';

/** @internal What `@TokenPayload()` hands its pipe: the request, and what to pick from it. */
export interface PayloadQuery {
  request: object;
  field?: string;
  context: ExecutionContext;
}

/**
 * Resolves `@TokenPayload()`: the guard's verified payload on a guarded route; on an unguarded one, the payload of
 * the access token the request carries (header, then cookie), verified with its session and, for a cookie on an
 * unsafe method, its CSRF token; or `{}` when there is none.
 * @internal
 */
@Injectable()
export class TokenPayloadPipe implements PipeTransform<PayloadQuery, Promise<unknown>> {
  constructor(
    private readonly reflector: Reflector,
    private readonly sessions: SessionService,
    private readonly config: JwtSessionsConfig,
    private readonly csrf: CsrfCheck,
  ) {}

  async transform(query: PayloadQuery): Promise<unknown> {
    const guarded = authContextOf(query.request);
    if (guarded) return pick(guarded.payload, query.field);
    const request = query.request as SessionRequest;
    const found = findToken(request, 'access', 'auto', this.config);
    if (!found) return pick({}, query.field);
    const authorized = await this.sessions.authorizeAccess(found.token, routeClaims(this.reflector, query.context));
    this.csrf.assert(request, found, authorized, 'access');
    return pick(authorized.payload, query.field);
  }
}
