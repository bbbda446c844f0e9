import type { ExecutionContext } from '@nestjs/common';
import { AUTH_CONTEXT } from '../jwt-sessions.constants.js';
import type { AuthContext } from './auth-rule.js';

/** The request of an HTTP handler, as the param decorators read it. @internal */
export function httpRequestOf(context: ExecutionContext): object {
  return context.switchToHttp().getRequest<object>();
}

/** What the guard left on a request, if it ran. @internal */
export function authContextOf(request: object): AuthContext | undefined {
  return (request as { [AUTH_CONTEXT]?: AuthContext })[AUTH_CONTEXT];
}

/** The payload, or one field of it. @internal */
export function pick(payload: Record<string, unknown>, field: string | undefined): unknown {
  return field === undefined ? payload : payload[field];
}
