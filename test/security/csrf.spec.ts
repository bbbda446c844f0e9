/**
 * CSRF at the HTTP level, with the cookies exactly as the sample sets them (the Set-Cookie lines of
 * POST /login_with_cookies): an unsafe cookie-authenticated request needs the session's current CSRF token, and
 * nothing else will do (another session's, a superseded one, malformed ones, duplicated headers, method
 * overrides); GET and HEAD need none; the token is masked afresh (BREACH) and rotated at login and at refresh.
 * Every refusal is exactly 401, writes nothing to the store and leaves the session usable.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { needsCsrf } from '../../lib/transport/token-extractor.js';
import { ACCESS_COOKIE, ACCESS_EXP, REFRESH_COOKIE, foreignCsrf, setCookies } from '../e2e/support/sample-app.js';
import {
  CSRF_ROUTES, TOKEN_ROUTES, expectNoStoreWrite, expectRouteSuccess, expectUnauthorizedAnswer, label, loginSinatraSession,
  loginWithCookies, routeRequest, send, sessionFor, unmaskCsrf, useHttpSample, utf8AsLatin1, validCredentials,
  type Answer, type Credentials, type HttpSample, type RouteCase, type SessionCredentials,
} from './support/http-fixture.js';

const route = (method: RouteCase['method'], path: string) =>
  TOKEN_ROUTES.find((candidate) => candidate.method === method && candidate.path === path) as RouteCase;
const CREATE_USER = route('POST', '/users');
const REFRESH = route('POST', '/refresh');
const REFRESH_BY_ACCESS = route('POST', '/refresh_by_access');
const LOGOUT_EVERYWHERE = route('DELETE', '/sessions');
const USERS_ROUTES = CSRF_ROUTES.map((candidate) => [label(candidate), candidate] as const);

/** A cookie request of a route for a session, with the CSRF header(s) given (none when undefined). */
function cookieCall(sample: HttpSample, target: RouteCase, session: SessionCredentials, csrf: Credentials['csrf'], extra: Credentials['extra'] = [], path = target.path): Promise<Answer> {
  const { cookie } = validCredentials(target, session, 'cookie');
  return send(sample, { ...routeRequest(target, { cookie, csrf, extra }), path });
}

/** Flips one bit of a base64 character so that the decoded bytes change (not one of the unused trailing bits). */
function flipBase64(value: string, index: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const flipped = alphabet[alphabet.indexOf(value[index]) ^ 0b100000];
  return value.slice(0, index) + flipped + value.slice(index + 1);
}

describe('CSRF', () => {
  const sample = useHttpSample();

  /** Asserts a refusal that wrote nothing. */
  async function expectRefused(attempt: Promise<Answer>, context: string): Promise<void> {
    sample.spy.reset();
    expectUnauthorizedAnswer(await attempt, context);
    expectNoStoreWrite(sample.spy, context);
  }

  describe('every unsafe cookie-authenticated route', () => {
    it.each(USERS_ROUTES)('%s: no X-CSRF-Token -> 401 and nothing written; the same request with it succeeds', async (_label, target) => {
      const session = await sessionFor(sample, target);
      await expectRefused(cookieCall(sample, target, session, undefined), 'no header');
      expectRouteSuccess(target, await cookieCall(sample, target, session, session.csrf));
    });

    it.each(USERS_ROUTES)('%s: the CSRF token of another session (masked or raw, Rails or Sinatra) -> 401', async (_label, target) => {
      const session = await sessionFor(sample, target);
      const others = [await loginWithCookies(sample), await loginSinatraSession(sample)];
      for (const other of others) {
        await expectRefused(cookieCall(sample, target, session, other.csrf), 'another session\'s masked token');
        await expectRefused(cookieCall(sample, target, session, unmaskCsrf(other.csrf)), 'another session\'s raw secret');
      }
      expectRouteSuccess(target, await cookieCall(sample, target, session, session.csrf));
    });

    it.each(USERS_ROUTES)('%s: a duplicated X-CSRF-Token header, one valid and one not, in either order -> 401', async (_label, target) => {
      const session = await sessionFor(sample, target);
      for (const invalid of [foreignCsrf(), (await loginWithCookies(sample)).csrf, 'junk', '', unmaskCsrf(session.csrf).slice(0, 10)]) {
        await expectRefused(cookieCall(sample, target, session, [session.csrf, invalid]), `valid then ${JSON.stringify(invalid)}`);
        await expectRefused(cookieCall(sample, target, session, [invalid, session.csrf]), `${JSON.stringify(invalid)} then valid`);
      }
      expectRouteSuccess(target, await cookieCall(sample, target, session, session.csrf));
    });
  });

  describe('malformed X-CSRF-Token values: 401, never an exception', () => {
    let session: SessionCredentials;

    beforeAll(async () => {
      session = await loginWithCookies(sample);
    });

    const malformed: Array<[string, (csrf: string) => string]> = [
      ['empty', () => ''],
      ['only blanks (Node trims them to empty)', () => ' \t '],
      ['"%%%"', () => '%%%'],
      ['"===="', () => '===='],
      ['"="', () => '='],
      ['"=="', () => '=='],
      ['latin-1 "é" characters', () => 'é'.repeat(88)],
      ['the UTF-8 bytes of "日本語"', () => utf8AsLatin1('日本語')],
      ['the UTF-8 bytes of 22 emoji (88 bytes)', () => utf8AsLatin1('🔑'.repeat(22))],
      ['the token with a UTF-8 "é" inside', (csrf) => csrf.slice(0, 40) + utf8AsLatin1('é') + csrf.slice(42)],
      ['one character short', (csrf) => csrf.slice(0, -1)],
      ['one character more', (csrf) => `${csrf}A`],
      ['without its padding', (csrf) => csrf.replace(/=+$/, '')],
      ['truncated to 63 bytes (84 characters)', (csrf) => csrf.slice(0, 84)],
      ['92 characters (over the 88 of a masked token)', (csrf) => `${csrf.slice(0, 86)}AAAA==`],
      ['64 zero bytes', () => `${'A'.repeat(86)}==`],
      ['32 zero bytes', () => `${'A'.repeat(43)}=`],
      ['the token twice', (csrf) => csrf + csrf],
      ['the token with one bit flipped in the pad', (csrf) => flipBase64(csrf, 5)],
      ['the token with one bit flipped in the masked half', (csrf) => flipBase64(csrf, 60)],
      ['the raw secret with one bit flipped', (csrf) => flipBase64(unmaskCsrf(csrf), 10)],
      ['the pad half alone', (csrf) => Buffer.from(csrf, 'base64').subarray(0, 32).toString('base64')],
      ['the masked half alone', (csrf) => Buffer.from(csrf, 'base64').subarray(32).toString('base64')],
      ['the token in quotes', (csrf) => `"${csrf}"`],
      ['the token with a trailing comma', (csrf) => `${csrf},`],
      ['the token as a JSON array', (csrf) => JSON.stringify([csrf])],
      ['the token after "Bearer "', (csrf) => `Bearer ${csrf}`],
      ['the token percent-encoded', (csrf) => encodeURIComponent(csrf).replace(/[A-Za-z0-9]/g, (c) => `%${c.charCodeAt(0).toString(16)}`)],
    ];

    it.each(malformed)('%s', async (what, make) => {
      await expectRefused(cookieCall(sample, CREATE_USER, session, make(session.csrf)), what);
    });

    it.each([['NUL', '\0'], ['CR', '\r'], ['bare LF', '\n']])('the token with a %s inside (raw socket): 400 from Node\'s parser', async (_name, character) => {
      const csrf = session.csrf.slice(0, 44) + character + session.csrf.slice(44);
      sample.spy.reset();
      const answer = await cookieCall(sample, CREATE_USER, session, csrf);
      expect(answer.raw).toBe(true);
      expect(answer.statuses).toEqual([400]);
      expectNoStoreWrite(sample.spy);
    });

    it('the session came out of every malformed attempt intact', async () => {
      expectRouteSuccess(CREATE_USER, await cookieCall(sample, CREATE_USER, session, session.csrf));
    });
  });

  describe('method override does not make a POST safe', () => {
    it('POST with X-HTTP-Method-Override: GET (and friends), or ?_method=GET, still needs the CSRF token', async () => {
      const session = await loginWithCookies(sample);
      const overrides: Array<[string, Array<[string, string]>, string]> = [
        ['X-HTTP-Method-Override: GET', [['X-HTTP-Method-Override', 'GET']], CREATE_USER.path],
        ['X-HTTP-Method-Override: HEAD', [['X-HTTP-Method-Override', 'HEAD']], CREATE_USER.path],
        ['X-HTTP-Method: GET', [['X-HTTP-Method', 'GET']], CREATE_USER.path],
        ['X-Method-Override: GET', [['X-Method-Override', 'GET']], CREATE_USER.path],
        ['?_method=GET', [], `${CREATE_USER.path}?_method=GET`],
        ['?_method=GET and the header', [['X-HTTP-Method-Override', 'GET']], `${CREATE_USER.path}?_method=GET`],
      ];
      for (const [what, extra, path] of overrides) {
        await expectRefused(cookieCall(sample, CREATE_USER, session, undefined, extra, path), what);
        // The override changes nothing for a request that carries the token.
        expectRouteSuccess(CREATE_USER, await cookieCall(sample, CREATE_USER, session, session.csrf, extra, path), what);
      }
      // A refresh and a logout everywhere, overridden to GET, without the token: refused, and the session lives on.
      await expectRefused(cookieCall(sample, REFRESH, session, undefined, [['X-HTTP-Method-Override', 'GET']], '/refresh?_method=GET'), 'refresh');
      await expectRefused(cookieCall(sample, LOGOUT_EVERYWHERE, session, undefined, [['X-HTTP-Method-Override', 'GET']], '/sessions?_method=GET'), 'logout');
      expectRouteSuccess(REFRESH, await cookieCall(sample, REFRESH, session, session.csrf));
    });

    describe('needsCsrf (what method-override middleware leaves on an Express request)', () => {
      const cookie = { token: 't', source: 'cookie' as const };
      const header = { token: 't', source: 'header' as const };
      it.each([
        ['GET overridden from a POST', { method: 'GET', originalMethod: 'POST' }, true],
        ['HEAD overridden from a POST', { method: 'HEAD', originalMethod: 'POST' }, true],
        ['GET overridden from a lower-case post', { method: 'GET', originalMethod: 'post' }, true],
        ['POST overridden from a GET', { method: 'POST', originalMethod: 'GET' }, true],
        ['a plain POST', { method: 'POST' }, true],
        ['a plain DELETE', { method: 'DELETE' }, true],
        ['OPTIONS', { method: 'OPTIONS' }, true],
        ['no method at all (another context)', {}, true],
        ['a plain GET', { method: 'GET' }, false],
        ['a lower-case get', { method: 'get' }, false],
        ['a plain HEAD', { method: 'HEAD' }, false],
        ['GET with originalMethod GET', { method: 'GET', originalMethod: 'GET' }, false],
        ['HEAD with originalMethod GET', { method: 'HEAD', originalMethod: 'GET' }, false],
      ])('%s, cookie-borne -> %s', (_what, methods, expected) => {
        expect(needsCsrf({ headers: {}, ...methods }, cookie)).toBe(expected);
      });

      it('never for a header-borne token', () => {
        expect(needsCsrf({ headers: {}, method: 'GET', originalMethod: 'POST' }, header)).toBe(false);
        expect(needsCsrf({ headers: {}, method: 'POST' }, header)).toBe(false);
      });
    });
  });

  describe('GET and HEAD with a cookie need no CSRF token', () => {
    it.each(TOKEN_ROUTES.filter((candidate) => candidate.method === 'GET' && candidate.transports.includes('cookie'))
      .flatMap((candidate) => (['GET', 'HEAD'] as const).map((method) => [`${method} ${candidate.path}`, candidate, method] as const)))(
      '%s', async (_label, target, method) => {
        const session = await loginWithCookies(sample);
        const { cookie } = validCredentials(target, session, 'cookie');
        for (const csrf of [undefined, foreignCsrf()]) {
          const answer = await send(sample, routeRequest(target, { cookie, csrf }, method));
          expect({ method, csrf, status: answer.status }).toEqual({ method, csrf, status: 200 });
          if (method === 'GET') expect(answer.body).not.toEqual({});
        }
      });
  });

  describe('cross-site screen (the sample turns rejectCrossSite on): even the right CSRF token is refused from another site', () => {
    let session: SessionCredentials;

    beforeAll(async () => {
      session = await loginWithCookies(sample);
    });

    const crossSite: Array<[string, (port: number) => Array<[string, string]>]> = [
      ['Sec-Fetch-Site: cross-site', () => [['Sec-Fetch-Site', 'cross-site']]],
      ['Sec-Fetch-Site: CROSS-SITE', () => [['Sec-Fetch-Site', 'CROSS-SITE']]],
      ['Origin: https://evil.example', () => [['Origin', 'https://evil.example']]],
      ['Origin: null (a sandboxed frame, a data: URL)', () => [['Origin', 'null']]],
      ['Origin: a lookalike host', (port) => [['Origin', `http://127.0.0.1.evil.example:${port}`]]],
      ['Origin: the same host on another port', (port) => [['Origin', `http://127.0.0.1:${port === 1 ? 2 : 1}`]]],
      ['Origin: not a URL', () => [['Origin', '%%%']]],
      ['a same-origin Origin but Sec-Fetch-Site: cross-site', (port) => [['Origin', `http://127.0.0.1:${port}`], ['Sec-Fetch-Site', 'cross-site']]],
    ];

    it.each(crossSite)('%s -> 401, nothing written', async (what, headers) => {
      await expectRefused(cookieCall(sample, CREATE_USER, session, session.csrf, headers(sample.port)), what);
      await expectRefused(cookieCall(sample, REFRESH, session, session.csrf, headers(sample.port)), `${what} on POST /refresh`);
    });

    it.each([
      ['Origin: the app itself', (port: number) => [['Origin', `http://127.0.0.1:${port}`]] as Array<[string, string]>],
      ['Sec-Fetch-Site: same-origin', () => [['Sec-Fetch-Site', 'same-origin']] as Array<[string, string]>],
      ['Sec-Fetch-Site: none (typed in the address bar)', () => [['Sec-Fetch-Site', 'none']] as Array<[string, string]>],
    ])('%s, with the CSRF token -> success', async (_what, headers) => {
      expectRouteSuccess(CREATE_USER, await cookieCall(sample, CREATE_USER, session, session.csrf, headers(sample.port)));
    });

    it('a cross-site GET with the cookie, and a cross-site POST by header, are not screened (no ambient credential used unsafely)', async () => {
      const users = route('GET', '/users/1');
      const cookie = validCredentials(users, session, 'cookie').cookie;
      const get = await send(sample, routeRequest(users, { cookie, extra: [['Sec-Fetch-Site', 'cross-site'], ['Origin', 'https://evil.example']] }));
      expect(get.status).toBe(200);
      const byHeader = await send(sample, routeRequest(CREATE_USER, { ...validCredentials(CREATE_USER, session, 'header'), extra: [['Origin', 'https://evil.example']] }));
      expectRouteSuccess(CREATE_USER, byHeader);
    });
  });

  describe('masking (BREACH) and rotation', () => {
    it('every masked token of a session differs, none contains the secret, and all are accepted, as is the raw secret', async () => {
      const session = await loginWithCookies(sample);
      const secret = unmaskCsrf(session.csrf);
      const masked = [session.csrf];
      for (let i = 0; i < 20; i++) masked.push(await sample.sessions.maskedCsrf(session.access));
      expect(new Set(masked).size).toBe(masked.length);
      for (const token of masked) {
        expect(token).toHaveLength(88);
        expect(token).not.toContain(secret.slice(0, 16));
        expect(unmaskCsrf(token)).toBe(secret);
      }
      for (const token of [...masked, secret]) expectRouteSuccess(CREATE_USER, await cookieCall(sample, CREATE_USER, session, token));
    });

    it('two logins get different secrets, and neither session takes the other\'s token', async () => {
      const first = await loginWithCookies(sample);
      const second = await loginWithCookies(sample);
      expect(unmaskCsrf(first.csrf)).not.toBe(unmaskCsrf(second.csrf));
      await expectRefused(cookieCall(sample, CREATE_USER, first, second.csrf), 'first with second\'s');
      await expectRefused(cookieCall(sample, CREATE_USER, second, first.csrf), 'second with first\'s');
      expectRouteSuccess(CREATE_USER, await cookieCall(sample, CREATE_USER, first, first.csrf));
      expectRouteSuccess(CREATE_USER, await cookieCall(sample, CREATE_USER, second, second.csrf));
    });

    /** After a refresh: the old token (masked or raw) is refused everywhere, the new one works. */
    async function expectRotated(before: SessionCredentials, after: SessionCredentials): Promise<void> {
      expect(unmaskCsrf(after.csrf)).not.toBe(unmaskCsrf(before.csrf));
      for (const stale of [before.csrf, unmaskCsrf(before.csrf)]) {
        await expectRefused(cookieCall(sample, CREATE_USER, after, stale), 'POST /users with the old token');
        await expectRefused(cookieCall(sample, LOGOUT_EVERYWHERE, after, stale), 'DELETE /sessions with the old token');
        await expectRefused(cookieCall(sample, REFRESH, after, stale), 'POST /refresh with the old token');
      }
      expectRouteSuccess(CREATE_USER, await cookieCall(sample, CREATE_USER, after, after.csrf));
    }

    it('a refresh by cookie rotates the secret: the CSRF token of before it is refused', async () => {
      const before = await loginWithCookies(sample);
      const refreshed = await cookieCall(sample, REFRESH, before, before.csrf);
      expectRouteSuccess(REFRESH, refreshed);
      const { access, csrf } = refreshed.body as { access: string; csrf: string };
      await expectRotated(before, { ...before, access, csrf });
    });

    it('a refresh by header rotates it too (the cookie session\'s CSRF token goes with it)', async () => {
      const before = await loginWithCookies(sample);
      const refreshed = await send(sample, routeRequest(REFRESH, validCredentials(REFRESH, before, 'header')));
      expectRouteSuccess(REFRESH, refreshed);
      const { access, csrf } = refreshed.body as { access: string; csrf: string };
      await expectRotated(before, { ...before, access, csrf });
    });

    it('a refresh by an expired access cookie (Set-Cookie jwt_access) rotates it too', async () => {
      const before = await loginWithCookies(sample);
      sample.clock.advance(ACCESS_EXP + 1);
      const refreshed = await cookieCall(sample, REFRESH_BY_ACCESS, before, before.csrf);
      expectRouteSuccess(REFRESH_BY_ACCESS, refreshed);
      const cookies = setCookies({ headers: refreshed.headers } as Parameters<typeof setCookies>[0]);
      expect(Object.keys(cookies)).toEqual([ACCESS_COOKIE]);
      expect(cookies[REFRESH_COOKIE]).toBeUndefined();
      await expectRotated(before, { ...before, access: cookies[ACCESS_COOKIE].value, csrf: (refreshed.body as { csrf: string }).csrf });
    });
  });
});
