/**
 * CSRF: cookie-authenticated requests with any method but GET and HEAD need a valid X-CSRF-Token (the logouts
 * included); GET and HEAD never do; header-authenticated requests never do.
 */
import { describe, expect, it } from '@jest/globals';
import {
  ACCESS_COOKIE, ACCESS_EXP, ADAPTERS, REFRESH_COOKIE, SEEDED_USER, cookieHeader, expectUnauthorized, foreignCsrf,
  loginSinatra, loginUser, type LoginTokens, type Response, useSampleApp,
} from './support/sample-app.js';

type Login = 'rails' | 'sinatra' | 'sinatra-namespaced' | 'sinatra-namespaced-rba';

interface RouteCase {
  method: 'post' | 'delete';
  path: string;
  /** The token the route authorizes with. */
  token: 'access' | 'refresh';
  login: Login;
  /** Where the token may come from on this route. */
  transports: Array<'header' | 'cookie'>;
  /** The access token must have expired first (the Rails refresh by access refuses live ones). */
  expired?: boolean;
  /** Whether the route answers a body (a new user). */
  body?: boolean;
}

const ROUTES: RouteCase[] = [
  { method: 'post', path: '/api/v1/refresh', token: 'refresh', login: 'sinatra', transports: ['header', 'cookie'] },
  { method: 'post', path: '/api/v1/refresh_by_cookies', token: 'refresh', login: 'sinatra', transports: ['cookie'] },
  { method: 'post', path: '/api/v1/refresh_by_headers', token: 'refresh', login: 'sinatra', transports: ['header'] },
  { method: 'post', path: '/api/v1/refresh_by_access', token: 'access', login: 'sinatra', transports: ['header', 'cookie'] },
  { method: 'post', path: '/api/v1/refresh_by_access_by_cookies', token: 'access', login: 'sinatra', transports: ['cookie'] },
  { method: 'post', path: '/api/v1/refresh_by_access_by_headers', token: 'access', login: 'sinatra', transports: ['header'] },
  { method: 'post', path: '/api/v1/refresh_namespaced', token: 'refresh', login: 'sinatra-namespaced', transports: ['header', 'cookie'] },
  { method: 'post', path: '/api/v1/refresh_by_access_namespaced', token: 'access', login: 'sinatra-namespaced-rba', transports: ['header', 'cookie'] },
  { method: 'post', path: '/refresh', token: 'refresh', login: 'rails', transports: ['header', 'cookie'] },
  { method: 'post', path: '/refresh_by_access', token: 'access', login: 'rails', transports: ['header', 'cookie'], expired: true },
  { method: 'post', path: '/users', token: 'access', login: 'rails', transports: ['header', 'cookie'], body: true },
  { method: 'delete', path: '/login', token: 'access', login: 'rails', transports: ['header', 'cookie'] },
  { method: 'delete', path: '/login/destroy_by_refresh', token: 'refresh', login: 'rails', transports: ['header', 'cookie'] },
  { method: 'delete', path: '/sessions', token: 'access', login: 'rails', transports: ['header', 'cookie'] },
];

const COOKIE_ROUTES = ROUTES.filter((route) => route.transports.includes('cookie'));
const HEADER_ROUTES = ROUTES.filter((route) => route.transports.includes('header'));
const label = (route: RouteCase) => `${route.method.toUpperCase()} ${route.path}`;

const LOGIN_PATHS: Record<Exclude<Login, 'rails'>, string> = {
  sinatra: '/api/v1/login',
  'sinatra-namespaced': '/api/v1/login_namespaced',
  'sinatra-namespaced-rba': '/api/v1/login_namespaced_with_refresh_by_access_allowed',
};

describe.each(ADAPTERS)('%s adapter', (adapter) => {
  describe('CSRF', () => {
    const sample = useSampleApp({ SAMPLE_ADAPTER: adapter });
    let users = 0;

    /** Logs in as the route wants, and lets the access token expire when it must. */
    async function start(route: RouteCase): Promise<LoginTokens> {
      const tokens = route.login === 'rails' ? await loginUser(sample) : await loginSinatra(sample, LOGIN_PATHS[route.login]);
      if (route.expired) sample.clock.advance(ACCESS_EXP + 1);
      return tokens;
    }

    /** Calls the route with the token by cookie or header, and an optional X-CSRF-Token. */
    function call(route: RouteCase, tokens: LoginTokens, transport: 'header' | 'cookie', csrf?: string, csrfHeader = 'X-CSRF-Token') {
      const token = tokens[route.token];
      let test = sample.http()[route.method](route.path);
      if (transport === 'cookie') {
        test = test.set('Cookie', cookieHeader({ [route.token === 'access' ? ACCESS_COOKIE : REFRESH_COOKIE]: token }));
      } else {
        test = test.set(route.token === 'access' ? 'Authorization' : 'X-Refresh-Token', `Bearer ${token}`);
      }
      if (csrf !== undefined) test = test.set(csrfHeader, csrf);
      if (route.body) test = test.send({ user: { email: `csrf${++users}@example.com`, password: 'password123' } });
      return test;
    }

    function expectSuccess(route: RouteCase, response: Response): void {
      expect(route.method === 'delete' ? [200] : [200, 201]).toContain(response.status);
      expect(response.body?.error).toBeUndefined();
    }

    describe('cookie-authenticated POST and DELETE', () => {
      it.each(COOKIE_ROUTES.map((route) => [label(route), route] as const))('%s: without X-CSRF-Token -> 401, and nothing happens', async (_label, route) => {
        const tokens = await start(route);
        expectUnauthorized(await call(route, tokens, 'cookie'));
        // The session was neither refreshed nor flushed: the same request with the CSRF token goes through.
        expectSuccess(route, await call(route, tokens, 'cookie', tokens.csrf));
      });

      it.each(COOKIE_ROUTES.map((route) => [label(route), route] as const))('%s: with a wrong X-CSRF-Token -> 401', async (_label, route) => {
        const tokens = await start(route);
        expectUnauthorized(await call(route, tokens, 'cookie', foreignCsrf()));
        expectUnauthorized(await call(route, tokens, 'cookie', 'not-a-csrf-token'));
        expectUnauthorized(await call(route, tokens, 'cookie', ''));
        expectSuccess(route, await call(route, tokens, 'cookie', tokens.csrf));
      });

      it.each(COOKIE_ROUTES.map((route) => [label(route), route] as const))('%s: with the CSRF token of another session -> 401', async (_label, route) => {
        const tokens = await start(route);
        const other = route.login === 'rails' ? await loginUser(sample) : await loginSinatra(sample, LOGIN_PATHS[route.login]);
        expectUnauthorized(await call(route, tokens, 'cookie', other.csrf));
        expectSuccess(route, await call(route, tokens, 'cookie', tokens.csrf));
      });

      it.each(COOKIE_ROUTES.map((route) => [label(route), route] as const))('%s: from another site (Origin, Sec-Fetch-Site) -> 401 even with the CSRF token', async (_label, route) => {
        const tokens = await start(route);
        expectUnauthorized(await call(route, tokens, 'cookie', tokens.csrf).set('Origin', 'https://evil.example'));
        expectUnauthorized(await call(route, tokens, 'cookie', tokens.csrf).set('Sec-Fetch-Site', 'cross-site'));
        expectSuccess(route, await call(route, tokens, 'cookie', tokens.csrf).set('Sec-Fetch-Site', 'same-origin'));
      });

      it.each(COOKIE_ROUTES.map((route) => [label(route), route] as const))('%s: with the session\'s X-CSRF-Token (any header case) -> success', async (_label, route) => {
        const tokens = await start(route);
        expectSuccess(route, await call(route, tokens, 'cookie', tokens.csrf, 'x-csrf-token'));
      });
    });

    describe('header-authenticated requests never need CSRF', () => {
      it.each(HEADER_ROUTES.map((route) => [label(route), route] as const))('%s: without X-CSRF-Token -> success', async (_label, route) => {
        const tokens = await start(route);
        expectSuccess(route, await call(route, tokens, 'header'));
      });

      it.each(HEADER_ROUTES.map((route) => [label(route), route] as const))('%s: with a wrong X-CSRF-Token -> success', async (_label, route) => {
        const tokens = await start(route);
        expectSuccess(route, await call(route, tokens, 'header', foreignCsrf()));
      });
    });

    describe('cookie-authenticated GET and HEAD need no CSRF', () => {
      it.each([
        ['/api/v1/payload', 'sinatra'],
        ['/api/v1/payload_by_cookies', 'sinatra'],
        ['/api/v1/payload_without_authorize', 'sinatra'],
        [`/users/${SEEDED_USER.id}`, 'rails'],
        ['/sessions', 'rails'],
      ] as const)('GET %s', async (path, login) => {
        const tokens = login === 'rails' ? await loginUser(sample) : await loginSinatra(sample);
        const response = await sample.http().get(path).set('Cookie', cookieHeader({ [ACCESS_COOKIE]: tokens.access }));
        expect(response.status).toBe(200);
        expect(response.body).not.toEqual({});
        expect(response.body.error).toBeUndefined();
      });

      it('GET with a wrong X-CSRF-Token is still fine', async () => {
        const tokens = await loginSinatra(sample);
        const response = await sample.http().get('/api/v1/payload').set('Cookie', cookieHeader({ [ACCESS_COOKIE]: tokens.access })).set('X-CSRF-Token', foreignCsrf());
        expect(response.status).toBe(200);
        expect(response.body.key).toBe('big access value');
      });

      it('HEAD with an access cookie and no CSRF', async () => {
        const tokens = await loginSinatra(sample);
        expect((await sample.http().head('/api/v1/payload').set('Cookie', cookieHeader({ [ACCESS_COOKIE]: tokens.access }))).status).toBe(200);
        expect((await sample.http().head('/api/v1/payload')).status).toBe(401);
      });
    });

    describe('the CSRF token follows refreshes', () => {
      it('a refresh answers the CSRF token for the new access cookie; the old one stops working', async () => {
        const tokens = await loginUser(sample);
        const refreshed = await sample.http().post('/refresh').set('Cookie', cookieHeader({ [REFRESH_COOKIE]: tokens.refresh })).set('X-CSRF-Token', tokens.csrf);
        expect([200, 201]).toContain(refreshed.status);
        const cookie = cookieHeader({ [ACCESS_COOKIE]: refreshed.body.access });
        const email = `rotated${++users}@example.com`;
        expectUnauthorized(await sample.http().post('/users').set('Cookie', cookie).set('X-CSRF-Token', tokens.csrf).send({ user: { email, password: 'password123' } }));
        const created = await sample.http().post('/users').set('Cookie', cookie).set('X-CSRF-Token', refreshed.body.csrf).send({ user: { email, password: 'password123' } });
        expect([200, 201]).toContain(created.status);
        expect(created.body.user.email).toBe(email);
      });
    });
  });
});
