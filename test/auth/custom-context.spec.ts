import { Injectable, type ExecutionContext } from '@nestjs/common';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { Test } from '@nestjs/testing';
import {
  AccessAuth, authContextOf, JwtSessionsGuard, RefreshAuth, SessionService, UnauthorizedError, type SessionRequest,
} from '../../lib/index.js';
import { JwtSessionsTestingModule } from '../../lib/testing/index.js';

/**
 * Another request context (GraphQL here, by hand): a guard subclass reads the request from the context's third
 * argument, as `GqlExecutionContext.create(context).getContext().req` would, and the route names it with `guard`.
 */
@Injectable()
class GraphqlSessionsGuard extends JwtSessionsGuard {
  protected override getRequest(context: ExecutionContext): SessionRequest {
    return context.getArgByIndex<{ req: SessionRequest }>(2).req;
  }
}

class ProfileResolver {
  @AccessAuth({ guard: GraphqlSessionsGuard })
  me(): void {}

  @RefreshAuth({ guard: GraphqlSessionsGuard, transport: 'cookie' })
  refresh(): void {}
}

/** A GraphQL-shaped execution context: (root, args, context, info), of type 'graphql'. */
function graphqlContext(handler: keyof ProfileResolver, req: SessionRequest): ExecutionContext {
  const host = new ExecutionContextHost([{}, {}, { req }, {}], ProfileResolver, ProfileResolver.prototype[handler]);
  host.setType('graphql');
  return host;
}

describe('a guard for another request context', () => {
  let guard: GraphqlSessionsGuard;
  let sessions: SessionService;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [JwtSessionsTestingModule.forRoot()],
      providers: [GraphqlSessionsGuard],
    }).compile();
    guard = moduleRef.get(GraphqlSessionsGuard);
    sessions = moduleRef.get(SessionService);
  });

  it('is the guard the decorator binds', () => {
    expect(Reflect.getMetadata('__guards__', ProfileResolver.prototype.me)).toEqual([GraphqlSessionsGuard]);
  });

  it('authorizes from the request it reads, and leaves the auth context on it', async () => {
    const { access } = await sessions.login({ payload: { user_id: 7 } });
    const req: SessionRequest = { method: 'POST', headers: { authorization: `Bearer ${access}` } };
    await expect(guard.canActivate(graphqlContext('me', req))).resolves.toBe(true);
    expect(authContextOf(req)).toMatchObject({ type: 'access', source: 'header', payload: { user_id: 7 } });
  });

  it('refuses a missing or bad token, and keeps CSRF for cookie tokens on unsafe methods', async () => {
    await expect(guard.canActivate(graphqlContext('me', { method: 'POST', headers: {} }))).rejects.toBeInstanceOf(UnauthorizedError);
    const { refresh, csrf } = await sessions.login({});
    const cookie = { cookie: `jwt_refresh=${refresh}` };
    await expect(guard.canActivate(graphqlContext('refresh', { method: 'POST', headers: cookie }))).rejects.toThrow('CSRF token is invalid');
    await expect(guard.canActivate(graphqlContext('refresh', { method: 'POST', headers: { ...cookie, 'x-csrf-token': csrf } }))).resolves.toBe(true);
  });
});
