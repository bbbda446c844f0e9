/**
 * Forged and mangled tokens sent over HTTP to every guarded route: each is answered 401 (never 2xx, never 500)
 * before the session store is asked anything, and the store's content is left exactly as it was.
 * Every forgery copies the header (`typ`) and claims of a real token of the app, so the defect under test is the
 * only one. Each block starts with a control: the genuine token passes the same route.
 */
import { describe, expect, it } from '@jest/globals';
import type request from 'supertest';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { CompactEncrypt, FlattenedSign, GeneralSign } from 'jose';
import { MalconfiguredError } from '../../lib/index.js';
import { b64u, hmacToken, joseToken, secretBytes, tamperClaims, unsignedToken, withSignature } from './support/forge.js';
import {
  bootSecurityApp, claimsFor, expectRefusedWithoutStore, expectUnauthorized, NO_STORE_CALLS, ROUTE_NAMES, ROUTES,
  SECURITY_HS256_KEY, useSecurityApp, type HttpLogin, type JsonObject, type RouteName, type SecurityApp,
} from './support/security-app.js';

const HS256 = { signingKey: SECURITY_HS256_KEY };

/** The genuine token a route takes, from a login. */
function genuine(route: RouteName, login: HttpLogin): string {
  return route === 'refresh' ? login.tokens.refresh : login.tokens.access;
}

/** A token signed with the app's real key: only what the test changes is wrong. */
function realSigned(route: RouteName, claims: unknown, header: JsonObject = {}): string {
  return hmacToken('HS256', SECURITY_HS256_KEY, { alg: 'HS256', typ: ROUTES[route].typ, ...header }, claims);
}

/** The control of each block: the genuine token passes every route (so the refusals below are not vacuous). */
async function expectGenuineAccepted(fixture: SecurityApp): Promise<void> {
  for (const route of ROUTE_NAMES) {
    const login = await fixture.login();
    const response = await ROUTES[route].send(fixture.http(), genuine(route, login));
    expect({ route, status: response.status }).toEqual({ route, status: 200 });
  }
}

describe('1. alg "none" in any spelling', () => {
  const fixture = useSecurityApp(HS256);

  it('control: genuine tokens pass every route', () => expectGenuineAccepted(fixture));

  const cases = ROUTE_NAMES.flatMap((route) => ['none', 'None', 'NONE', 'nOnE'].flatMap((alg) => [
    [route, alg, 'an empty signature', ''],
    [route, alg, 'a junk signature', b64u('junk-signature')],
  ] as const));

  it.each(cases)('%s: alg %s with %s is refused', async (route, alg, _kind, signature) => {
    const login = await fixture.login();
    const token = unsignedToken({ alg, typ: ROUTES[route].typ }, claimsFor(route, login), signature);
    await expectRefusedWithoutStore(fixture, (http) => ROUTES[route].send(http, token));
  });

  const misspelt: Array<[string, unknown]> = [
    ['missing', undefined],
    ['null', null],
    ['the list ["HS256"]', ['HS256']],
    ['lower-case "hs256"', 'hs256'],
  ];
  const misspeltCases = ROUTE_NAMES.flatMap((route) => misspelt.map(([name, alg]) => [route, name, alg] as const));

  it.each(misspeltCases)('%s: alg %s, with a valid HMAC-SHA256 by the real key, is refused', async (route, _name, alg) => {
    const login = await fixture.login();
    const header: JsonObject = { typ: ROUTES[route].typ };
    if (alg !== undefined) header.alg = alg;
    const token = hmacToken('HS256', SECURITY_HS256_KEY, header, claimsFor(route, login));
    await expectRefusedWithoutStore(fixture, (http) => ROUTES[route].send(http, token));
  });

  it('is refused in the access cookie (GET) and in the refresh cookie with a valid CSRF token (POST)', async () => {
    const login = await fixture.login();
    const access = unsignedToken({ alg: 'none', typ: 'at+jwt' }, login.accessClaims, b64u('x'));
    const refresh = unsignedToken({ alg: 'none', typ: 'rt+jwt' }, login.refreshClaims, b64u('x'));
    await expectRefusedWithoutStore(fixture, (http) => http.get('/access').set('Cookie', `jwt_access=${access}`));
    await expectRefusedWithoutStore(fixture, (http) => http.post('/refresh').set('Cookie', `jwt_refresh=${refresh}`).set('X-CSRF-Token', login.tokens.csrf));
  });

  it('is refused by @TokenPayload() on an unguarded route, and @ClaimlessPayload() there never shows it', async () => {
    const login = await fixture.login();
    const forged = unsignedToken({ alg: 'none', typ: 'at+jwt' }, { ...login.accessClaims, role: 'admin' }, b64u('x'));
    await expectRefusedWithoutStore(fixture, (http) => http.get('/whoami').set('Authorization', `Bearer ${forged}`));
    fixture.resetCalls();
    const claimless = await fixture.http().get('/claimless').set('Authorization', `Bearer ${forged}`);
    expect(claimless.status).toBe(200);
    expect(claimless.body).toEqual({ payload: {} });
    expect(fixture.calls()).toEqual(NO_STORE_CALLS);
  });

  it.each(['none', 'None', 'NONE'])('configuring algorithm %j fails the app\'s start with MalconfiguredError naming the option', async (algorithm) => {
    const error = await bootSecurityApp({ algorithm: algorithm as never, signingKey: SECURITY_HS256_KEY }).then(
      async (app) => { await app.close(); return null; },
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(MalconfiguredError);
    expect((error as MalconfiguredError).message).toMatch(/\balgorithm\b/);
  });
});

describe('2. stripped, empty, truncated and foreign signatures', () => {
  const fixture = useSecurityApp(HS256);

  it('control: genuine tokens pass every route', () => expectGenuineAccepted(fixture));

  type Mangle = (token: string, other: string) => string;
  const mangles: Array<[string, Mangle]> = [
    ['the signature segment removed (header.payload)', (token) => token.split('.').slice(0, 2).join('.')],
    ['an empty signature (header.payload.)', (token) => withSignature(token, '')],
    ['the last signature character dropped', (token) => token.slice(0, -1)],
    ['half the signature dropped', (token) => { const s = token.split('.')[2]; return withSignature(token, s.slice(0, Math.floor(s.length / 2))); }],
    ['its first signature character changed', (token) => { const s = token.split('.')[2]; return withSignature(token, (s[0] === 'A' ? 'B' : 'A') + s.slice(1)); }],
    ['a signature of zero bytes of the right length', (token) => withSignature(token, b64u(Buffer.alloc(32)))],
    ['the signature of another session\'s token', (token, other) => withSignature(token, other.split('.')[2])],
  ];
  const cases = ROUTE_NAMES.flatMap((route) => mangles.map(([name, mangle]) => [route, name, mangle] as const));

  it.each(cases)('%s: a genuine token with %s is refused', async (route, _name, mangle) => {
    const login = await fixture.login();
    const other = await fixture.login({ payload: { user_id: 2 }, namespace: 'user-2' });
    const token = mangle(genuine(route, login), genuine(route, other));
    await expectRefusedWithoutStore(fixture, (http) => ROUTES[route].send(http, token));
  });

  it('the signature of the same session\'s other token (refresh on access, access on refresh) is refused', async () => {
    const login = await fixture.login();
    const accessWithRefreshSignature = withSignature(login.tokens.access, login.tokens.refresh.split('.')[2]);
    const refreshWithAccessSignature = withSignature(login.tokens.refresh, login.tokens.access.split('.')[2]);
    await expectRefusedWithoutStore(fixture, (http) => ROUTES.access.send(http, accessWithRefreshSignature));
    await expectRefusedWithoutStore(fixture, (http) => ROUTES['refresh-by-access'].send(http, accessWithRefreshSignature));
    await expectRefusedWithoutStore(fixture, (http) => ROUTES.refresh.send(http, refreshWithAccessSignature));
  });

  it('a stripped signature is refused in cookies too', async () => {
    const login = await fixture.login();
    const access = withSignature(login.tokens.access, '');
    const refresh = withSignature(login.tokens.refresh, '');
    await expectRefusedWithoutStore(fixture, (http) => http.get('/access').set('Cookie', `jwt_access=${access}`));
    await expectRefusedWithoutStore(fixture, (http) => http.post('/refresh').set('Cookie', `jwt_refresh=${refresh}`).set('X-CSRF-Token', login.tokens.csrf));
  });
});

describe('7. crit header parameters (HTTP view), signed with the real key', () => {
  const fixture = useSecurityApp(HS256);

  it('control: a token signed by hand with the real key and no crit passes every route', async () => {
    for (const route of ROUTE_NAMES) {
      const login = await fixture.login();
      const response = await ROUTES[route].send(fixture.http(), realSigned(route, claimsFor(route, login)));
      expect({ route, status: response.status }).toEqual({ route, status: 200 });
    }
  });

  const crits: Array<[string, JsonObject]> = [
    ['crit ["exp"] with an exp header', { crit: ['exp'], exp: 1 }],
    ['crit ["b64"] with b64 false', { crit: ['b64'], b64: false }],
    ['an empty crit list', { crit: [] }],
    ['crit naming an unknown extension', { crit: ['https://attacker.example/ext'], 'https://attacker.example/ext': true }],
    ['crit that is not a list', { crit: 'exp' }],
  ];
  const cases = ROUTE_NAMES.flatMap((route) => crits.map(([name, header]) => [route, name, header] as const));

  it.each(cases)('%s: %s is refused', async (route, _name, header) => {
    const login = await fixture.login();
    const token = realSigned(route, claimsFor(route, login), header);
    await expectRefusedWithoutStore(fixture, (http) => ROUTES[route].send(http, token));
  });
});

describe('9. JWE and JWS JSON serializations', () => {
  const fixture = useSecurityApp(HS256);

  it('control: genuine tokens pass every route', () => expectGenuineAccepted(fixture));

  const payloadBytes = (claims: JsonObject) => new TextEncoder().encode(JSON.stringify(claims));

  it.each(ROUTE_NAMES)('%s: a compact JWE (5 segments) under a random key is refused', async (route) => {
    const login = await fixture.login();
    const jwe = await new CompactEncrypt(payloadBytes(claimsFor(route, login)))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', typ: ROUTES[route].typ })
      .encrypt(randomBytes(32));
    expect(jwe.split('.')).toHaveLength(5);
    await expectRefusedWithoutStore(fixture, (http) => ROUTES[route].send(http, jwe));
  });

  it.each(ROUTE_NAMES)('%s: a compact JWE encrypted with the HMAC secret itself (dir, A256GCM) is refused', async (route) => {
    const login = await fixture.login();
    const jwe = await new CompactEncrypt(payloadBytes(claimsFor(route, login)))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', typ: ROUTES[route].typ })
      .encrypt(secretBytes(SECURITY_HS256_KEY));
    await expectRefusedWithoutStore(fixture, (http) => ROUTES[route].send(http, jwe));
  });

  it.each(ROUTE_NAMES)('%s: a flattened JWS JSON signed with the real key is refused, as the header value', async (route) => {
    const login = await fixture.login();
    const jws = await new FlattenedSign(payloadBytes(claimsFor(route, login)))
      .setProtectedHeader({ alg: 'HS256', typ: ROUTES[route].typ })
      .sign(secretBytes(SECURITY_HS256_KEY));
    await expectRefusedWithoutStore(fixture, (http) => ROUTES[route].send(http, JSON.stringify(jws)));
  });

  it.each(ROUTE_NAMES)('%s: a general JWS JSON signed with the real key is refused, as the header value', async (route) => {
    const login = await fixture.login();
    const jws = await new GeneralSign(payloadBytes(claimsFor(route, login)))
      .addSignature(secretBytes(SECURITY_HS256_KEY))
      .setProtectedHeader({ alg: 'HS256', typ: ROUTES[route].typ })
      .sign();
    await expectRefusedWithoutStore(fixture, (http) => ROUTES[route].send(http, JSON.stringify(jws)));
  });

  it('a flattened JWS JSON in the access cookie is refused', async () => {
    const login = await fixture.login();
    const jws = await new FlattenedSign(payloadBytes(login.accessClaims))
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
      .sign(secretBytes(SECURITY_HS256_KEY));
    await expectRefusedWithoutStore(fixture, (http) => http.get('/access').set('Cookie', `jwt_access=${encodeURIComponent(JSON.stringify(jws))}`));
  });
});

describe('10. wrong segment counts and characters outside base64url', () => {
  const fixture = useSecurityApp(HS256);

  it('control: genuine tokens pass every route', () => expectGenuineAccepted(fixture));

  const toBase64 = (segment: string) => Buffer.from(segment, 'base64url').toString('base64');
  type Mangle = (token: string) => string;
  const mangles: Array<[string, Mangle]> = [
    ['1 segment', (token) => token.split('.')[0]],
    ['2 segments', (token) => token.split('.').slice(0, 2).join('.')],
    ['4 segments', (token) => `${token}.${token.split('.')[2]}`],
    ['5 segments', (token) => `${token}.${b64u('iv')}.${b64u('tag')}`],
    ['an empty middle segment (header..signature)', (token) => { const [h, , s] = token.split('.'); return `${h}..${s}`; }],
    ['a leading dot', (token) => `.${token}`],
    ['a trailing dot', (token) => `${token}.`],
    ['a doubled dot', (token) => token.replace('.', '..')],
    ['every segment re-encoded as padded standard base64', (token) => token.split('.').map(toBase64).join('.')],
    ['a "+" in the signature', (token) => { const s = token.split('.')[2]; return withSignature(token, `+${s.slice(1)}`); }],
    ['a "/" in the signature', (token) => { const s = token.split('.')[2]; return withSignature(token, `/${s.slice(1)}`); }],
    ['"=" padding on the signature', (token) => `${token}=`],
    ['"==" padding on the payload', (token) => { const [h, p, s] = token.split('.'); return `${h}.${p}==.${s}`; }],
    ['a space inside the payload', (token) => { const [h, p, s] = token.split('.'); return `${h}.${p.slice(0, 5)} ${p.slice(5)}.${s}`; }],
    ['a "%" escape inside the payload', (token) => { const [h, p, s] = token.split('.'); return `${h}.${p.slice(0, 5)}%41${p.slice(5)}.${s}`; }],
    ['a non-ASCII letter (é) inside the signature', (token) => `${token}é`],
    ['a tab inside the header', (token) => `${token.slice(0, 4)}\t${token.slice(4)}`],
  ];
  const cases = ROUTE_NAMES.flatMap((route) => mangles.map(([name, mangle]) => [route, name, mangle] as const));

  it.each(cases)('%s: a genuine token with %s is refused', async (route, _name, mangle) => {
    const login = await fixture.login();
    const token = mangle(genuine(route, login));
    await expectRefusedWithoutStore(fixture, (http) => ROUTES[route].send(http, token));
  });

  it.each([
    ['a percent-encoded UTF-8 letter (%C3%A9)', (token: string) => `${token}%C3%A9`],
    ['a percent-encoded emoji', (token: string) => `${token}${encodeURIComponent('🔑')}`],
    ['percent-encoded "=" padding', (token: string) => `${token}%3D`],
    ['a percent-encoded space', (token: string) => `${token.slice(0, 10)}%20${token.slice(10)}`],
    ['a leading dot', (token: string) => `.${token}`],
    ['two segments', (token: string) => token.split('.').slice(0, 2).join('.')],
  ])('a genuine access cookie with %s is refused', async (_name, mangle) => {
    const login = await fixture.login();
    const cookie = mangle(login.tokens.access);
    await expectRefusedWithoutStore(fixture, (http) => http.get('/access').set('Cookie', `jwt_access=${cookie}`));
  });
});

describe('11. payloads that are not JSON objects, signed with the real key', () => {
  const fixture = useSecurityApp(HS256);

  it('control: a hand-signed object payload passes every route', async () => {
    for (const route of ROUTE_NAMES) {
      const login = await fixture.login();
      const response = await ROUTES[route].send(fixture.http(), realSigned(route, claimsFor(route, login)));
      expect({ route, status: response.status }).toEqual({ route, status: 200 });
    }
  });

  const payloads: Array<[string, (claims: JsonObject) => unknown]> = [
    ['a JSON array of the claims', (claims) => [claims]],
    ['an empty JSON array', () => []],
    ['a JSON string', (claims) => JSON.stringify(claims)],
    ['a JSON number', () => 42],
    ['JSON null', () => null],
    ['JSON true', () => true],
    ['invalid UTF-8 (a lone 0xFF byte in a string)', (claims) => Buffer.concat([Buffer.from(JSON.stringify(claims).slice(0, -1)), Buffer.from(',"x":"'), Buffer.from([0xff]), Buffer.from('"}')])],
    ['an overlong UTF-8 encoding of "/"', (claims) => Buffer.concat([Buffer.from(JSON.stringify(claims).slice(0, -1)), Buffer.from(',"x":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')])],
    ['a UTF-8-encoded lone surrogate', (claims) => Buffer.concat([Buffer.from(JSON.stringify(claims).slice(0, -1)), Buffer.from(',"x":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')])],
    ['not JSON at all', () => Buffer.from('uid=admin&exp=9999999999')],
    ['a single space', () => Buffer.from(' ')],
  ];
  const cases = ROUTE_NAMES.flatMap((route) => payloads.map(([name, make]) => [route, name, make] as const));

  it.each(cases)('%s: %s is refused', async (route, _name, make) => {
    const login = await fixture.login();
    const token = realSigned(route, make(claimsFor(route, login)));
    await expectRefusedWithoutStore(fixture, (http) => ROUTES[route].send(http, token));
  });
});

describe('12. a token of one kind presented as the other', () => {
  const fixture = useSecurityApp(HS256);

  it('control: each token passes its own route by header and by cookie', async () => {
    const login = await fixture.login();
    expect((await fixture.http().get('/access').set('Authorization', `Bearer ${login.tokens.access}`)).status).toBe(200);
    expect((await fixture.http().get('/access').set('Cookie', `jwt_access=${login.cookies.jwt_access}`)).status).toBe(200);
    expect((await fixture.http().post('/refresh').set('X-Refresh-Token', login.tokens.refresh)).status).toBe(200);
    const again = await fixture.login();
    const byCookie = await fixture.http().post('/refresh').set('Cookie', `jwt_refresh=${again.cookies.jwt_refresh}`).set('X-CSRF-Token', again.tokens.csrf);
    expect(byCookie.status).toBe(200);
  });

  type Send = (http: ReturnType<SecurityApp['http']>, login: HttpLogin) => PromiseLike<request.Response>;
  const cases: Array<[string, Send]> = [
    ['the refresh token as Authorization: Bearer on GET /access', (http, l) => http.get('/access').set('Authorization', `Bearer ${l.tokens.refresh}`)],
    ['the refresh token as Authorization: Bearer on POST /access', (http, l) => http.post('/access').set('Authorization', `Bearer ${l.tokens.refresh}`)],
    ['the refresh token in the access cookie on GET /access', (http, l) => http.get('/access').set('Cookie', `jwt_access=${l.tokens.refresh}`)],
    ['the refresh token in the access cookie on POST /access, with the valid CSRF token', (http, l) => http.post('/access').set('Cookie', `jwt_access=${l.tokens.refresh}`).set('X-CSRF-Token', l.tokens.csrf)],
    ['the refresh token on POST /refresh-by-access (header)', (http, l) => http.post('/refresh-by-access').set('Authorization', `Bearer ${l.tokens.refresh}`)],
    ['the refresh token on POST /refresh-by-access (access cookie, valid CSRF)', (http, l) => http.post('/refresh-by-access').set('Cookie', `jwt_access=${l.tokens.refresh}`).set('X-CSRF-Token', l.tokens.csrf)],
    ['the refresh token on the unguarded @TokenPayload() route', (http, l) => http.get('/whoami').set('Authorization', `Bearer ${l.tokens.refresh}`)],
    ['the access token as X-Refresh-Token on POST /refresh', (http, l) => http.post('/refresh').set('X-Refresh-Token', l.tokens.access)],
    ['the access token in the refresh cookie on POST /refresh, with the valid CSRF token', (http, l) => http.post('/refresh').set('Cookie', `jwt_refresh=${l.tokens.access}`).set('X-CSRF-Token', l.tokens.csrf)],
    ['both cookies swapped, on POST /refresh with the valid CSRF token', (http, l) => http.post('/refresh').set('Cookie', `jwt_access=${l.tokens.refresh}; jwt_refresh=${l.tokens.access}`).set('X-CSRF-Token', l.tokens.csrf)],
    ['both cookies swapped, on GET /access', (http, l) => http.get('/access').set('Cookie', `jwt_access=${l.tokens.refresh}; jwt_refresh=${l.tokens.access}`)],
  ];

  it.each(cases)('%s is refused', async (_name, send) => {
    const login = await fixture.login();
    await expectRefusedWithoutStore(fixture, (http) => send(http, login));
  });

  it('a refresh token re-signed by hand with the real key but typ at+jwt is still not a session access token', async () => {
    // Only the typ header differs from a genuine refresh token; the payload has no ruid, so no store call either.
    const login = await fixture.login();
    const token = realSigned('access', login.refreshClaims);
    await expectRefusedWithoutStore(fixture, (http) => ROUTES.access.send(http, token));
  });
});

describe('14. tampered payloads with the signature kept', () => {
  const fixture = useSecurityApp(HS256);

  it('control: genuine tokens pass every route', () => expectGenuineAccepted(fixture));

  type Change = (login: HttpLogin, other: HttpLogin) => JsonObject;
  const accessChanges: Array<[string, Change]> = [
    ['uid set to another session\'s access uid', (_l, o) => ({ uid: o.accessClaims.uid })],
    ['ruid set to another session', (_l, o) => ({ ruid: o.accessClaims.ruid })],
    ['uid and ruid both set to another session', (_l, o) => ({ uid: o.accessClaims.uid, ruid: o.accessClaims.ruid })],
    ['exp pushed a year ahead', (l) => ({ exp: Number(l.accessClaims.exp) + 31_536_000 })],
    ['a custom role raised to admin', () => ({ role: 'admin' })],
    ['user_id set to another user', () => ({ user_id: 2 })],
    ['an extra claim added', () => ({ admin: true })],
  ];
  const refreshChanges: Array<[string, Change]> = [
    ['uid set to another session', (_l, o) => ({ uid: o.refreshClaims.uid })],
    ['exp pushed a year ahead', (l) => ({ exp: Number(l.refreshClaims.exp) + 31_536_000 })],
    ['user_id set to another user', () => ({ user_id: 2 })],
    ['a custom role raised to admin', () => ({ role: 'admin' })],
  ];
  const cases = [
    ...accessChanges.flatMap(([name, change]) => (['access', 'refresh-by-access'] as const).map((route) => [route, name, change] as const)),
    ...refreshChanges.map(([name, change]) => ['refresh' as const, name, change] as const),
  ];

  it.each(cases)('%s: a genuine token with %s is refused', async (route, _name, change) => {
    const login = await fixture.login();
    const other = await fixture.login({ payload: { user_id: 2, role: 'admin' }, namespace: 'user-2' });
    const token = tamperClaims(genuine(route, login), change(login, other));
    await expectRefusedWithoutStore(fixture, (http) => ROUTES[route].send(http, token));
  });

  it.each(ROUTE_NAMES)('%s: the same claims re-serialized (whitespace, key order) under the old signature are refused', async (route) => {
    const login = await fixture.login();
    const token = genuine(route, login);
    const claims = claimsFor(route, login);
    const reordered = Object.fromEntries(Object.entries(claims).reverse());
    const [header, , signature] = token.split('.');
    for (const json of [JSON.stringify(claims, null, 1), JSON.stringify(reordered)]) {
      const forged = `${header}.${b64u(json)}.${signature}`;
      await expectRefusedWithoutStore(fixture, (http) => ROUTES[route].send(http, forged));
    }
  });

  it('a tampered header (typ, alg) under the old signature is refused', async () => {
    const login = await fixture.login();
    const [, accessPayload, accessSignature] = login.tokens.access.split('.');
    const [, refreshPayload, refreshSignature] = login.tokens.refresh.split('.');
    const asRefresh = `${b64u({ ...login.accessHeader, typ: 'rt+jwt' })}.${accessPayload}.${accessSignature}`;
    const asAccess = `${b64u({ ...login.refreshHeader, typ: 'at+jwt' })}.${refreshPayload}.${refreshSignature}`;
    const otherAlg = `${b64u({ ...login.accessHeader, alg: 'HS512' })}.${accessPayload}.${accessSignature}`;
    await expectRefusedWithoutStore(fixture, (http) => ROUTES.refresh.send(http, asRefresh));
    await expectRefusedWithoutStore(fixture, (http) => ROUTES.access.send(http, asAccess));
    await expectRefusedWithoutStore(fixture, (http) => ROUTES.access.send(http, otherAlg));
  });

  it('a tampered role in the access cookie is refused (GET, no CSRF needed)', async () => {
    const login = await fixture.login();
    const forged = tamperClaims(login.tokens.access, { role: 'admin' });
    await expectRefusedWithoutStore(fixture, (http) => http.get('/access').set('Cookie', `jwt_access=${forged}`));
  });
});

describe('15. refresh by access with a forged or edited expired access token', () => {
  const fixture = useSecurityApp(HS256);
  const ATTACKER_SECRET = 'attacker-secret-0123456789abcdef';

  /** A victim (user 2) and an attacker (user 1) logged in, then the clock past both access tokens' expiry. */
  async function expiredPair(): Promise<{ victim: HttpLogin; attacker: HttpLogin; victimClaims: JsonObject }> {
    const victim = await fixture.login({ payload: { user_id: 2, role: 'admin' }, namespace: 'user-2' });
    const attacker = await fixture.login({ payload: { user_id: 1, role: 'user' }, namespace: 'user-1' });
    fixture.clock.advance(3601);
    return { victim, attacker, victimClaims: { ...victim.accessClaims } };
  }

  /** Refused, nothing stored changed, and the victim's session still honours only its own access token. */
  async function expectNoTokenMinted(victim: HttpLogin, token: string, byCookie = false): Promise<void> {
    const [before] = (await fixture.sessionsIn('user-2')).filter((session) => session.uid === victim.accessClaims.ruid);
    const response = await expectRefusedWithoutStore(fixture, (http) => byCookie
      ? http.post('/refresh-by-access').set('Cookie', `jwt_access=${token}`).set('X-CSRF-Token', victim.tokens.csrf)
      : http.post('/refresh-by-access').set('Authorization', `Bearer ${token}`));
    expect(response.body.access).toBeUndefined();
    const [after] = (await fixture.sessionsIn('user-2')).filter((session) => session.uid === victim.accessClaims.ruid);
    expect(after).toEqual(before);
    expect(after.accessUid).toBe(victim.accessClaims.uid);
  }

  it('control: each user\'s own genuine expired access token refreshes by access (a new token is minted)', async () => {
    const { victim, attacker } = await expiredPair();
    expectUnauthorized(await fixture.http().get('/access').set('Authorization', `Bearer ${victim.tokens.access}`), 'ERR_JWT_SESSIONS_EXPIRED');
    for (const login of [victim, attacker]) {
      const response = await fixture.http().post('/refresh-by-access').set('Authorization', `Bearer ${login.tokens.access}`);
      expect(response.status).toBe(200);
      expect(typeof response.body.access).toBe('string');
    }
  });

  it('a forged expired token naming the victim, HMAC-signed with an attacker key, is refused', async () => {
    const { victim, victimClaims } = await expiredPair();
    const token = hmacToken('HS256', ATTACKER_SECRET, { alg: 'HS256', typ: 'at+jwt' }, victimClaims);
    await expectNoTokenMinted(victim, token);
    await expectNoTokenMinted(victim, token, true);
  });

  it('a forged expired token naming the victim, signed with an attacker EC key (ES256), is refused', async () => {
    const { victim, victimClaims } = await expiredPair();
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const token = await joseToken({ alg: 'ES256', typ: 'at+jwt' }, victimClaims, privateKey);
    await expectNoTokenMinted(victim, token);
  });

  it('a forged expired token naming the victim with HMAC under an empty key is refused', async () => {
    const { victim, victimClaims } = await expiredPair();
    await expectNoTokenMinted(victim, hmacToken('HS256', '', { alg: 'HS256', typ: 'at+jwt' }, victimClaims));
  });

  it.each([
    ['alg none, empty signature', ''],
    ['alg none, junk signature', b64u('junk')],
  ])('an unsigned expired token naming the victim (%s) is refused', async (_name, signature) => {
    const { victim, victimClaims } = await expiredPair();
    await expectNoTokenMinted(victim, unsignedToken({ alg: 'none', typ: 'at+jwt' }, victimClaims, signature));
  });

  it('a token naming the victim with only a header (alg HS256) and no signature is refused', async () => {
    const { victim, victimClaims } = await expiredPair();
    await expectNoTokenMinted(victim, unsignedToken({ alg: 'HS256', typ: 'at+jwt' }, victimClaims, ''));
  });

  it.each([
    ['ruid and uid', (victim: HttpLogin) => ({ ruid: victim.accessClaims.ruid, uid: victim.accessClaims.uid })],
    ['ruid, uid, user_id and role', (victim: HttpLogin) => ({ ruid: victim.accessClaims.ruid, uid: victim.accessClaims.uid, user_id: 2, role: 'admin' })],
    ['user_id only', () => ({ user_id: 2 })],
    ['ruid only', (victim: HttpLogin) => ({ ruid: victim.accessClaims.ruid })],
  ])('the attacker\'s genuine expired token with its %s edited to the victim\'s is refused', async (_name, change) => {
    const { victim, attacker } = await expiredPair();
    const token = tamperClaims(attacker.tokens.access, change(victim));
    await expectNoTokenMinted(victim, token);
  });

  it('the attacker\'s genuine expired token with its exp edited into the future is refused on /access too', async () => {
    const { attacker } = await expiredPair();
    const token = tamperClaims(attacker.tokens.access, { exp: fixture.nowSeconds() + 3600 });
    await expectRefusedWithoutStore(fixture, (http) => ROUTES.access.send(http, token));
  });
});
