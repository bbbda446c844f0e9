import { createParamDecorator, type ExecutionContext, type PipeTransform, type Type } from '@nestjs/common';
import { authContextOf, httpRequestOf, pick } from './auth-context.js';
import { TokenPayloadPipe, type PayloadQuery } from './token-payload.pipe.js';

/**
 * The type of a param decorator, written out: the one `createParamDecorator` infers names a Nest 12-only type, which
 * would break the declarations for Nest 11 apps that type-check libraries.
 */
type ParamDecoratorFactory<D> = (...dataOrPipes: Array<D | PipeTransform | Type<PipeTransform>>) => ParameterDecorator;

const payloadQuery = createParamDecorator((field: string | undefined, context: ExecutionContext): PayloadQuery => ({
  request: httpRequestOf(context),
  field,
  context,
}));

/**
 * The verified token payload, or one field of it (the gem's `payload`). On a route without an auth decorator it
 * verifies the access token the request carries, if any, and gives `{}` when there is none.
 * @example
 * ```ts
 * @AccessAuth()
 * @Get('me')
 * me(@TokenPayload('user_id') userId: number) {}
 * ```
 * @publicApi
 */
export function TokenPayload(field?: string): ParameterDecorator {
  return payloadQuery(field, TokenPayloadPipe);
}

/**
 * The payload the guard verified without enforcing expiry, or one field of it (the gem's `claimless_payload`):
 * what a `@RefreshByAccessAuth()` route builds its new access payload from. `{}` on a route without an auth decorator.
 * @publicApi
 */
export const ClaimlessPayload: ParamDecoratorFactory<string> = createParamDecorator((field: string | undefined, context: ExecutionContext): unknown =>
  pick(authContextOf(httpRequestOf(context))?.payload ?? {}, field));

/**
 * The raw token the guard found (the gem's `found_token`), or undefined on a route without an auth decorator.
 * @publicApi
 */
export const FoundToken: ParamDecoratorFactory<never> = createParamDecorator((_data: unknown, context: ExecutionContext): string | undefined =>
  authContextOf(httpRequestOf(context))?.token);

/**
 * Everything the guard verified: token, source, payload and session. Undefined on a route without an auth decorator.
 * @publicApi
 */
export const CurrentSession: ParamDecoratorFactory<never> = createParamDecorator((_data: unknown, context: ExecutionContext) =>
  authContextOf(httpRequestOf(context)));
