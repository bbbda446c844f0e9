/**
 * Size limits at the HTTP level, on every route of the sample that reads a token.
 *
 * - 64 KB Authorization / X-Refresh-Token / cookie headers and a 1 MB X-CSRF-Token exceed Node's own header limit
 *   (16 KB): Node answers 431 before Nest sees the request, and the store is never asked.
 * - A token just over the library's maxTokenLength (genuinely signed, naming a live session, so that only its
 *   length is wrong) fits under Node's limit and is refused with 401 before any store call; the same token at
 *   exactly maxTokenLength is honoured, which proves the refusal is the length check.
 * - A CSRF header just over maxTokenLength on a valid cookie session answers 401 and leaves the session intact.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { DEFAULT_MAX_TOKEN_LENGTH } from '../../lib/index.js';
import { ACCESS_COOKIE, REFRESH_COOKIE } from '../e2e/support/sample-app.js';
import {
  CSRF_ROUTES, TOKEN_ROUTES, expectNoStoreCall, expectNoStoreWrite, expectRouteSuccess, expectUnauthorizedAnswer, label,
  loginSinatraSession, loginWithCookies, routeRequest, send, sessionFor, signedOfLength, useHttpSample, validCredentials,
  type Credentials, type RouteCase, type SessionCredentials,
} from './support/http-fixture.js';

const KB64 = 64 * 1024;
const MB = 1024 * 1024;

/** Every (route, transport) pair the sample reads a token from. */
const SLOTS = TOKEN_ROUTES.flatMap((route) => route.transports.map((transport) => [`${label(route)} by ${transport}`, route, transport] as const));

describe('limits', () => {
  const sample = useHttpSample();
  /**
   * A session logged in before every hostile request of the suite: it must come out of them intact. A Sinatra one,
   * outside the seeded user's namespace, which the successful DELETE /sessions below flushes.
   */
  let survivor: SessionCredentials;

  beforeAll(async () => {
    survivor = await loginSinatraSession(sample);
  });

  it('runs with the default maxTokenLength', () => {
    expect(sample.maxTokenLength).toBe(DEFAULT_MAX_TOKEN_LENGTH);
  });

  describe('64 KB credential headers: Node answers 431 before Nest, no store call', () => {
    let hugeAccess: string;
    let hugeRefresh: string;

    beforeAll(async () => {
      // Genuinely signed and naming a live session: only the size is wrong.
      const session = await loginWithCookies(sample);
      hugeAccess = signedOfLength(session.access, KB64);
      hugeRefresh = signedOfLength(session.refresh, KB64);
    });

    it.each(TOKEN_ROUTES.map((route) => [label(route), route] as const))('%s', async (_label, route) => {
      const attempts: Array<[string, Credentials]> = [
        ['Authorization', { authorization: `Bearer ${hugeAccess}` }],
        ['X-Refresh-Token', { refreshHeader: `Bearer ${hugeRefresh}` }],
        ['jwt_access cookie', { cookie: `${ACCESS_COOKIE}=${hugeAccess}`, csrf: survivor.csrf }],
        ['jwt_refresh cookie', { cookie: `${REFRESH_COOKIE}=${hugeRefresh}`, csrf: survivor.csrf }],
      ];
      for (const [what, credentials] of attempts) {
        sample.spy.reset();
        const answer = await send(sample, routeRequest(route, credentials));
        expect({ what, status: answer.status, setCookie: answer.headers['set-cookie'] }).toEqual({ what, status: 431, setCookie: undefined });
        expectNoStoreCall(sample.spy, what);
      }
    });
  });

  describe('a 1 MB X-CSRF-Token with a valid cookie session: 431, no store call, session intact', () => {
    it.each(CSRF_ROUTES.map((route) => [label(route), route] as const))('%s', async (_label, route) => {
      const session = await sessionFor(sample, route);
      const cookie = validCredentials(route, session, 'cookie');
      sample.spy.reset();
      const answer = await send(sample, routeRequest(route, { ...cookie, csrf: session.csrf.repeat(Math.ceil(MB / session.csrf.length)) }));
      expect(answer.status).toBe(431);
      expectNoStoreCall(sample.spy);
      expectRouteSuccess(route, await send(sample, routeRequest(route, cookie)), 'the same request with the real CSRF token');
    });
  });

  describe('a genuine token one character over maxTokenLength: 401 before any store call', () => {
    it.each(SLOTS)('%s', async (_label, route, transport) => {
      const session = await loginWithCookies(sample);
      const oversize = signedOfLength(session[route.token], sample.maxTokenLength + 1);
      expect(oversize.length).toBe(DEFAULT_MAX_TOKEN_LENGTH + 1);
      const attempts: Array<[string, Credentials]> = transport === 'cookie'
        ? [['cookie with the session\'s CSRF token', { cookie: `${route.token === 'access' ? ACCESS_COOKIE : REFRESH_COOKIE}=${oversize}`, csrf: session.csrf }]]
        : ['Bearer ', 'bearer\t', ''].map((scheme) => [`header "${scheme}<token>"`, route.token === 'access'
          ? { authorization: `${scheme}${oversize}` }
          : { refreshHeader: `${scheme}${oversize}` }]);
      for (const [what, credentials] of attempts) {
        sample.spy.reset();
        expectUnauthorizedAnswer(await send(sample, routeRequest(route, credentials)), what);
        expect(sample.spy.counts().find).toBe(0);
        expectNoStoreCall(sample.spy, what);
      }
    });
  });

  describe('the same genuine token at exactly maxTokenLength is honoured (so the refusals above are the length alone)', () => {
    const usersRoute = TOKEN_ROUTES.find((route) => route.path === '/users/1') as RouteCase;
    const refreshRoute = TOKEN_ROUTES.find((route) => route.path === '/refresh') as RouteCase;

    it.each(['header', 'cookie'] as const)('an access token by %s on GET /users/1, and a refresh token on POST /refresh', async (transport) => {
      const session = await loginWithCookies(sample);
      const access = signedOfLength(session.access, sample.maxTokenLength);
      const refresh = signedOfLength(session.refresh, sample.maxTokenLength);
      expect([access.length, refresh.length]).toEqual([DEFAULT_MAX_TOKEN_LENGTH, DEFAULT_MAX_TOKEN_LENGTH]);
      const atLimit = { ...session, access, refresh };
      sample.spy.reset();
      expectRouteSuccess(usersRoute, await send(sample, routeRequest(usersRoute, validCredentials(usersRoute, atLimit, transport))));
      expect(sample.spy.counts().find).toBe(1);
      expectRouteSuccess(refreshRoute, await send(sample, routeRequest(refreshRoute, validCredentials(refreshRoute, atLimit, transport))));
    });
  });

  describe('a CSRF header one character over maxTokenLength with a valid cookie session: 401, session intact', () => {
    it.each(CSRF_ROUTES.map((route) => [label(route), route] as const))('%s', async (_label, route) => {
      const session = await sessionFor(sample, route);
      const cookie = validCredentials(route, session, 'cookie');
      const over = sample.maxTokenLength + 1;
      // The real masked token padded with base64 characters, and the real token over and over.
      const hostile = [
        session.csrf + 'A'.repeat(over - session.csrf.length),
        session.csrf.repeat(Math.ceil(over / session.csrf.length)).slice(0, over),
      ];
      for (const csrf of hostile) {
        expect(csrf).toHaveLength(DEFAULT_MAX_TOKEN_LENGTH + 1);
        sample.spy.reset();
        expectUnauthorizedAnswer(await send(sample, routeRequest(route, { ...cookie, csrf })));
        expectNoStoreWrite(sample.spy);
      }
      expectRouteSuccess(route, await send(sample, routeRequest(route, cookie)), 'the same request with the real CSRF token');
    });
  });

  it('the session logged in before every oversize request still refreshes, and its new access token works', async () => {
    const refreshRoute = TOKEN_ROUTES.find((route) => route.path === '/api/v1/refresh') as RouteCase;
    const usersRoute = TOKEN_ROUTES.find((route) => route.path === '/api/v1/payload') as RouteCase;
    const refreshed = await send(sample, routeRequest(refreshRoute, validCredentials(refreshRoute, survivor, 'header')));
    expectRouteSuccess(refreshRoute, refreshed);
    const next = { ...survivor, ...(refreshed.body as { access: string; csrf: string }) };
    expectRouteSuccess(usersRoute, await send(sample, routeRequest(usersRoute, validCredentials(usersRoute, next, 'cookie'))));
  });
});
