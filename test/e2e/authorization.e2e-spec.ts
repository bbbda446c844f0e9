/**
 * Across every guarded route of the contract: each authorization failure answers 401 with `error: "Unauthorized"`;
 * `Bearer` is optional and header names are case-insensitive.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { SignJWT } from 'jose';
import {
  ACCESS_COOKIE, ACCESS_EXP, ADAPTERS, REFRESH_COOKIE, SEEDED_USER, cookieHeader, decodePayload, expectUnauthorized, loginSinatra,
  loginUser, type LoginTokens, type SampleApp, useSampleApp,
} from './support/sample-app.js';

interface GuardedRoute {
  method: 'get' | 'post' | 'delete';
  path: string;
  token: 'access' | 'refresh';
  transports: Array<'header' | 'cookie'>;
}

const GUARDED: GuardedRoute[] = [
  { method: 'post', path: '/api/v1/refresh', token: 'refresh', transports: ['header', 'cookie'] },
  { method: 'post', path: '/api/v1/refresh_by_cookies', token: 'refresh', transports: ['cookie'] },
  { method: 'post', path: '/api/v1/refresh_by_headers', token: 'refresh', transports: ['header'] },
  { method: 'post', path: '/api/v1/refresh_by_access', token: 'access', transports: ['header', 'cookie'] },
  { method: 'post', path: '/api/v1/refresh_by_access_by_cookies', token: 'access', transports: ['cookie'] },
  { method: 'post', path: '/api/v1/refresh_by_access_by_headers', token: 'access', transports: ['header'] },
  { method: 'post', path: '/api/v1/refresh_namespaced', token: 'refresh', transports: ['header', 'cookie'] },
  { method: 'post', path: '/api/v1/refresh_by_access_namespaced', token: 'access', transports: ['header', 'cookie'] },
  { method: 'get', path: '/api/v1/payload', token: 'access', transports: ['header', 'cookie'] },
  { method: 'get', path: '/api/v1/payload_by_cookies', token: 'access', transports: ['cookie'] },
  { method: 'get', path: '/api/v1/payload_by_headers', token: 'access', transports: ['header'] },
  { method: 'delete', path: '/login', token: 'access', transports: ['header', 'cookie'] },
  { method: 'delete', path: '/login/destroy_by_refresh', token: 'refresh', transports: ['header', 'cookie'] },
  { method: 'post', path: '/refresh', token: 'refresh', transports: ['header', 'cookie'] },
  { method: 'post', path: '/refresh_by_access', token: 'access', transports: ['header', 'cookie'] },
  { method: 'get', path: `/users/${SEEDED_USER.id}`, token: 'access', transports: ['header', 'cookie'] },
  { method: 'post', path: '/users', token: 'access', transports: ['header', 'cookie'] },
  { method: 'get', path: '/sessions', token: 'access', transports: ['header', 'cookie'] },
  { method: 'delete', path: '/sessions', token: 'access', transports: ['header', 'cookie'] },
];

const OTHER_KEY = 'a-different-signing-key-0123456789abcdef-xyz';
const label = (route: GuardedRoute) => `${route.method.toUpperCase()} ${route.path}`;
const headerOf = (route: GuardedRoute) => (route.token === 'access' ? 'Authorization' : 'X-Refresh-Token');
const cookieOf = (route: GuardedRoute) => (route.token === 'access' ? ACCESS_COOKIE : REFRESH_COOKIE);
let users = 0;

/** The same header and payload, signed with a key that is not the app's. */
async function resign(token: string): Promise<string> {
  const [header] = token.split('.');
  const { typ } = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { typ: string };
  return new SignJWT(decodePayload(token)).setProtectedHeader({ alg: 'HS256', typ }).sign(new TextEncoder().encode(OTHER_KEY));
}

describe.each(ADAPTERS)('%s adapter', (adapter) => {
  describe('authorization failures and token transport', () => {
    const sample = useSampleApp({ SAMPLE_ADAPTER: adapter });

    function call(app: SampleApp, route: GuardedRoute) {
      const test = app.http()[route.method](route.path);
      return route.path === '/users' ? test.send({ user: { email: `user${++users}@example.com`, password: 'password123' } }) : test;
    }

    describe.each(GUARDED.map((route) => [label(route), route] as const))('%s', (_label, route) => {
      it('refuses a request without a token', async () => {
        expectUnauthorized(await call(sample, route));
      });

      it.each(route.transports)('refuses a garbage token by %s', async (transport) => {
        const test = call(sample, route);
        const response = transport === 'header'
          ? await test.set(headerOf(route), 'Bearer not.a.token')
          : await test.set('Cookie', cookieHeader({ [cookieOf(route)]: 'not.a.token' })).set('X-CSRF-Token', 'x');
        expectUnauthorized(response);
      });

      it.each(route.transports)('refuses truncated and oversized tokens by %s, never with a 500', async (transport) => {
        const tokens = route.path.startsWith('/api/v1/')
          ? await loginSinatra(sample, route.path.includes('access_namespaced') ? '/api/v1/login_namespaced_with_refresh_by_access_allowed' : '/api/v1/login')
          : await loginUser(sample);
        const genuine = tokens[route.token];
        const [header, payload, signature] = genuine.split('.');
        const variants = [
          genuine.slice(0, -5),
          `${header}.${payload}`,
          `${header}.${payload}.`,
          `${header}..${signature}`,
          `${genuine}.${signature}`,
          `${genuine}${'A'.repeat(9000)}`,
          'A'.repeat(12000),
          `${genuine}=`,
          `${genuine.slice(0, -1)}+`,
          ` ${genuine.slice(0, 20)} ${genuine.slice(20)}`,
        ];
        for (const token of variants) {
          const test = call(sample, route);
          const response = transport === 'header'
            ? await test.set(headerOf(route), `Bearer ${token}`)
            : await test.set('Cookie', cookieHeader({ [cookieOf(route)]: token })).set('X-CSRF-Token', tokens.csrf);
          expectUnauthorized(response);
        }
      });

      it('refuses a live session\'s token re-signed with another key', async () => {
        const tokens = route.path.startsWith('/api/v1/')
          ? await loginSinatra(sample, route.path.includes('access_namespaced') ? '/api/v1/login_namespaced_with_refresh_by_access_allowed' : '/api/v1/login')
          : await loginUser(sample);
        // The Rails refresh by access takes expired access tokens only.
        if (route.path === '/refresh_by_access') sample.clock.advance(ACCESS_EXP + 1);
        const forged = await resign(tokens[route.token]);
        const transport = route.transports[0];
        const test = call(sample, route);
        const response = transport === 'header'
          ? await test.set(headerOf(route), `Bearer ${forged}`)
          : await test.set('Cookie', cookieHeader({ [cookieOf(route)]: forged })).set('X-CSRF-Token', tokens.csrf);
        expectUnauthorized(response);
        // The genuine token of the same session is accepted (so the refusal is the signature's doing).
        const genuine = transport === 'header'
          ? await call(sample, route).set(headerOf(route), `Bearer ${tokens[route.token]}`)
          : await call(sample, route).set('Cookie', cookieHeader({ [cookieOf(route)]: tokens[route.token] })).set('X-CSRF-Token', tokens.csrf);
        expect(genuine.status).not.toBe(401);
      });

      it('refuses an unsigned token (alg none)', async () => {
        const header = Buffer.from(JSON.stringify({ alg: 'none', typ: route.token === 'access' ? 'at+jwt' : 'rt+jwt' })).toString('base64url');
        const payload = Buffer.from(JSON.stringify({ user_id: 1, uid: 'x', ruid: 'y', exp: 4102444800 })).toString('base64url');
        const response = await call(sample, route).set(headerOf(route), `${header}.${payload}.`).set('Cookie', cookieHeader({ [cookieOf(route)]: `${header}.${payload}.` }));
        expectUnauthorized(response);
      });
    });

    describe('`Bearer` is optional and header names are case-insensitive', () => {
      let rails: LoginTokens;

      beforeAll(async () => {
        rails = await loginUser(sample);
      });

      it.each([
        ['Authorization', 'Bearer '],
        ['Authorization', ''],
        ['authorization', 'bearer '],
        ['AUTHORIZATION', 'BEARER '],
        ['aUtHoRiZaTiOn', ''],
      ])('access token in %s with scheme "%s"', async (name, scheme) => {
        const response = await sample.http().get(`/users/${SEEDED_USER.id}`).set(name, `${scheme}${rails.access}`);
        expect(response.status).toBe(200);
        expect(response.body.current_user).toEqual({ id: SEEDED_USER.id, email: SEEDED_USER.email });
      });

      it.each([
        ['X-Refresh-Token', 'Bearer '],
        ['X-Refresh-Token', ''],
        ['x-refresh-token', 'bearer '],
        ['X-REFRESH-TOKEN', ''],
      ])('refresh token in %s with scheme "%s"', async (name, scheme) => {
        const tokens = await loginUser(sample);
        const response = await sample.http().post('/refresh').set(name, `${scheme}${tokens.refresh}`);
        expect([200, 201]).toContain(response.status);
        expect(decodePayload(response.body.access)).toMatchObject({ user_id: SEEDED_USER.id, ruid: decodePayload(tokens.access).ruid });
      });

      it.each(['Bearer ', '', 'bearer '])('Sinatra payload route with scheme "%s"', async (scheme) => {
        const tokens = await loginSinatra(sample);
        const response = await sample.http().get('/api/v1/payload_by_headers').set('authorization', `${scheme}${tokens.access}`);
        expect(response.status).toBe(200);
        expect(response.body.key).toBe('big access value');
      });

      it('another scheme is refused', async () => {
        expectUnauthorized(await sample.http().get(`/users/${SEEDED_USER.id}`).set('Authorization', `Basic ${rails.access}`));
      });
    });
  });
});
