import type { ExecutionContext } from '@nestjs/common';
import { AUTH_CONTEXT } from '../jwt-sessions.constants.js';
import type { AuthContext } from './auth-rule.js';

/**
 * The request of an HTTP handler, as the guard and the param decorators read it: the context's first argument,
 * which is what `switchToHttp().getRequest()` answers, without the three closures that builds per call. @internal
 */
export function httpRequestOf(context: ExecutionContext): object {
  return context.getArgByIndex<object>(0);
}

/**
 * What the guard verified and left on a request (token, payload, session view), or undefined if it did not run.
 * The param decorators read it from the HTTP request; in another context, read it from the object your guard's
 * `getRequest` answered.
 * @publicApi
 */
export function authContextOf(request: object): AuthContext | undefined {
  return (request as { [AUTH_CONTEXT]?: AuthContext })[AUTH_CONTEXT];
}

/** The payload, or one field of it. @internal */
export function pick(payload: Record<string, unknown>, field: string | undefined): unknown {
  return field === undefined ? payload : payload[field];
}
