import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { isCrossSite } from '../../lib/csrf/cross-site.js';
import { bootCookieApp, cookieHeader, setCookies } from '../support/cookie-app.js';

/**
 * `rejectCrossSite`: a cookie-authenticated unsafe request the browser marks as cross-site is refused even with a
 * valid CSRF token; same-origin, trusted-origin and header-less requests go on to the CSRF check.
 */
describe('isCrossSite', () => {
  const trusted = { trustedOrigins: new Set(['https://app.example.com']), secure: true };
  const request = (headers: Record<string, string>) => ({ method: 'POST', headers: { host: 'api.example.com', ...headers } });

  it.each<[string, Record<string, string>, boolean]>([
    ['no Origin and no Sec-Fetch-Site', {}, false],
    ['Sec-Fetch-Site: same-origin', { 'sec-fetch-site': 'same-origin' }, false],
    ['Sec-Fetch-Site: none (typed address)', { 'sec-fetch-site': 'none' }, false],
    ['Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }, true],
    ['Sec-Fetch-Site: CROSS-SITE', { 'sec-fetch-site': 'CROSS-SITE' }, true],
    ['the same origin', { origin: 'https://api.example.com' }, false],
    ['the same origin with its default port', { origin: 'https://api.example.com', host: 'api.example.com:443' }, false],
    ['another port', { origin: 'https://api.example.com:8443' }, true],
    ['another host', { origin: 'https://evil.example' }, true],
    ['a sibling subdomain', { origin: 'https://evil.example.com' }, true],
    ['an opaque origin', { origin: 'null' }, true],
    ['a garbled origin', { origin: '::::' }, true],
    ['an origin but no Host', { origin: 'https://api.example.com', host: '' }, true],
    ['a trusted origin', { origin: 'https://app.example.com' }, false],
    ['a trusted origin, even when Sec-Fetch-Site says cross-site', { origin: 'https://app.example.com', 'sec-fetch-site': 'cross-site' }, false],
    ['cross-site with a same-origin Origin', { origin: 'https://api.example.com', 'sec-fetch-site': 'cross-site' }, true],
    ['an http: origin of the same host, with Secure cookies', { origin: 'http://api.example.com' }, true],
  ])('%s → %s', (_name, headers, expected) => {
    const { host, ...rest } = headers;
    const candidate = request(rest);
    if (host !== undefined) candidate.headers.host = host || (undefined as unknown as string);
    expect(isCrossSite(candidate, trusted)).toBe(expected);
  });

  it('takes an http: origin of the same host for the same origin when the cookies are not Secure (local development)', () => {
    const plain = { method: 'POST', headers: { host: 'localhost:3000', origin: 'http://localhost:3000' } };
    expect(isCrossSite(plain, { ...trusted, secure: false })).toBe(false);
    expect(isCrossSite(plain, trusted)).toBe(true);
  });
});

describe('rejectCrossSite over HTTP', () => {
  let app: INestApplication;
  let cookies: string;
  let csrf: string;
  const http = () => request(app.getHttpServer());

  beforeAll(async () => {
    ({ app } = await bootCookieApp({ rejectCrossSite: true, trustedOrigins: ['https://app.example.com'] }));
    const login = await http().post('/login').expect(200);
    cookies = cookieHeader(setCookies(login));
    csrf = login.body.csrf;
  });
  afterAll(() => app.close());

  const logout = () => http().delete('/login').set('Cookie', cookies).set('X-CSRF-Token', csrf);

  it('refuses an unsafe cookie request from another site even with a valid CSRF token, and keeps the session', async () => {
    await logout().set('Origin', 'https://evil.example').expect(401);
    await logout().set('Sec-Fetch-Site', 'cross-site').expect(401);
    await logout().set('Origin', 'null').expect(401);
    await http().get('/me').set('Cookie', cookies).expect(200);
  });

  it('lets safe methods through, and header-borne tokens (which a browser never adds by itself)', async () => {
    await http().get('/me').set('Cookie', cookies).set('Sec-Fetch-Site', 'cross-site').expect(200);
  });

  it.each([
    ['the same origin', { Origin: 'https://api.example.com', Host: 'api.example.com' }],
    ['a trusted origin', { Origin: 'https://app.example.com', 'Sec-Fetch-Site': 'cross-site' }],
  ])('lets %s through to the CSRF check', async (_name, headers) => {
    const login = await http().post('/login').expect(200);
    const session = cookieHeader(setCookies(login));
    await http().delete('/login').set('Cookie', session).set(headers).expect(401);
    await http().delete('/login').set('Cookie', session).set(headers).set('X-CSRF-Token', login.body.csrf).expect(200);
  });
});

describe('without rejectCrossSite (the default)', () => {
  it('leaves cross-site requests to the CSRF token alone', async () => {
    const { app } = await bootCookieApp({});
    const login = await request(app.getHttpServer()).post('/login').expect(200);
    await request(app.getHttpServer()).delete('/login').set('Cookie', cookieHeader(setCookies(login)))
      .set('X-CSRF-Token', login.body.csrf).set('Origin', 'https://evil.example').expect(200);
    await app.close();
  });
});
