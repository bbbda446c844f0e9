import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { MalconfiguredError, type JwtSessionsModuleOptions, type SessionCookieOptions } from '../../lib/index.js';
import { bootCookieApp as boot, cookieHeader, setCookies } from '../support/cookie-app.js';
import type { ManualClock } from '../support/manual-clock.js';

/** The cookie helper over real HTTP: safe attributes by default, `__Host-` names, a path-limited refresh cookie. */
describe('SessionCookies', () => {
  let app: INestApplication | undefined;
  let clock: ManualClock;
  const http = () => request((app as INestApplication).getHttpServer());
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('sets HttpOnly, Secure, SameSite=Lax, Path=/ browser-session cookies with no Domain by default', async () => {
    ({ app } = await boot({}));
    const lines = setCookies(await http().post('/login').expect(200));
    expect(lines).toHaveLength(2);
    for (const [line, name] of [[lines[0], 'jwt_access'], [lines[1], 'jwt_refresh']]) {
      expect(line).toMatch(new RegExp(`^${name}=[\\w-]+\\.[\\w-]+\\.[\\w-]+; Path=/; HttpOnly; Secure; SameSite=Lax$`));
      expect(line).not.toMatch(/Domain|Expires|Max-Age/i);
    }
  });

  it('honours secure: false and sameSite: strict for local development', async () => {
    ({ app } = await boot({ secure: false, sameSite: 'strict' }));
    for (const line of setCookies(await http().post('/login'))) {
      expect(line).toMatch(/; Path=\/; HttpOnly; SameSite=Strict$/);
      expect(line).not.toMatch(/Secure/);
    }
  });

  it('names the cookies __Host- when asked, and the guards read them by those names', async () => {
    ({ app } = await boot({ hostPrefix: true }));
    const lines = setCookies(await http().post('/login'));
    expect(lines.map((line) => line.split('=')[0])).toEqual(['__Host-jwt_access', '__Host-jwt_refresh']);
    for (const line of lines) expect(line).toMatch(/; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    await http().get('/me').set('Cookie', cookieHeader(lines)).expect(200, { source: 'cookie' });
    // A cookie under the unprefixed name, as a sibling subdomain could plant, is not read.
    const planted = cookieHeader(lines).replaceAll('__Host-', '');
    await http().get('/me').set('Cookie', planted).expect(401);
  });

  it('limits the refresh cookie to the refresh path (with __Secure-, as __Host- needs Path=/), and logout clears both', async () => {
    ({ app, clock } = await boot({ hostPrefix: true, refreshPath: '/auth/refresh' }));
    const login = await http().post('/login').expect(200);
    const lines = setCookies(login);
    expect(lines[0]).toMatch(/^__Host-jwt_access=.*; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    expect(lines[1]).toMatch(/^__Secure-jwt_refresh=.*; Path=\/auth\/refresh; HttpOnly; Secure; SameSite=Lax$/);
    expect(cookieHeader(lines, '/me')).not.toMatch(/jwt_refresh/);

    clock.advance(3601);
    const refreshed = await http().post('/auth/refresh').set('Cookie', cookieHeader(lines, '/auth/refresh')).set('X-CSRF-Token', login.body.csrf).expect(200);
    const access = setCookies(refreshed);
    expect(access).toHaveLength(1);
    expect(access[0]).toMatch(/^__Host-jwt_access=/);

    const logout = await http().delete('/login').set('Cookie', cookieHeader(access)).set('X-CSRF-Token', refreshed.body.csrf).expect(200);
    expect(setCookies(logout)).toEqual([
      '__Host-jwt_access=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax',
      '__Secure-jwt_refresh=; Path=/auth/refresh; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax',
    ]);
    await http().post('/auth/refresh').set('Cookie', cookieHeader(lines, '/auth/refresh')).set('X-CSRF-Token', refreshed.body.csrf).expect(401);
  });

  it.each<[string, SessionCookieOptions, JwtSessionsModuleOptions, RegExp]>([
    ['__Host- without Secure', { hostPrefix: true, secure: false }, {}, /__Host-jwt_access needs cookieOptions.secure/],
    ['a __Secure- name without Secure', { secure: false }, { refreshCookie: '__Secure-r' }, /__Secure-r needs cookieOptions.secure/],
    ['SameSite=None without Secure', { sameSite: 'none', secure: false }, {}, /sameSite none needs cookieOptions.secure/],
    ['a __Host- name with a refresh path', { refreshPath: '/refresh' }, { refreshCookie: '__Host-r' }, /__Host-r needs Path=\//],
    ['a relative refresh path', { refreshPath: 'refresh' }, {}, /refreshPath must be an absolute path/],
    ['a refresh path with a semicolon', { refreshPath: '/a;Domain=evil' }, {}, /refreshPath must be an absolute path/],
    ['a trusted origin with a path', { trustedOrigins: ['https://app.example.com/'] }, {}, /trustedOrigins must be a list of origins/],
    ['a trusted origin that is not http(s)', { trustedOrigins: ['null'] }, {}, /trustedOrigins must be a list of origins/],
  ])('refuses %s at start', async (_name, cookieOptions, options, message) => {
    const failure = await boot(cookieOptions, options).then(() => null, (error: unknown) => error);
    expect(failure).toBeInstanceOf(MalconfiguredError);
    expect((failure as Error).message).toMatch(message);
  });
});
