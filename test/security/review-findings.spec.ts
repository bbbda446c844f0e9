/**
 * Attacker review of the authorization path (tokens, keyring, JWKS, transport, CSRF, cross-site screen, guard, pipe).
 * The four findings (comments "Review finding") were fixed and their tests now guard the fixes; every other test is
 * a regression for an attack that held up, so that it stays covered.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generateKeyPairSync, createHmac } from 'node:crypto';
import { importSPKI, jwtVerify, SignJWT } from 'jose';
import { MalconfiguredError, type AuthContext } from '../../lib/index.js';
import {
  bootReviewApp, loginOver, REVIEW_HS256_KEY, sendRaw, type ReviewApp, type ReviewLogin,
} from './support/review-fixture.js';

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** The other spellings of a base64url segment whose last character carries unused low bits: same bytes, another string. */
function nonCanonicalSpellings(token: string): string[] {
  const last = token.at(-1) as string;
  const value = BASE64URL.indexOf(last);
  // An HS256 signature is 32 bytes: 43 characters, whose last one uses 4 of its 6 bits (the 2 low bits are padding).
  return [1, 2, 3].map((delta) => token.slice(0, -1) + BASE64URL[(value & ~3) | ((value + delta) & 3)]);
}

/** A token signed by hand with any header and claims (HMAC-SHA256 over the two segments). */
function hs256(secret: string, header: Record<string, unknown>, claims: Record<string, unknown>): string {
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
}

const cookie = (login: ReviewLogin, name = 'jwt_access') => `${name}=${login.cookies[name]}`;

describe('review: token format', () => {
  let fixture: ReviewApp;
  beforeAll(async () => { fixture = await bootReviewApp(); });
  afterAll(() => fixture.close());

  it('control: the genuine token passes', async () => {
    const login = await loginOver(fixture);
    await fixture.http().get('/me').set('Authorization', `Bearer ${login.tokens.access}`).expect(200);
  });

  // Review finding (low, fixed): readCompactJws checks the alphabet but not that each segment is canonical base64url, and jose
  // decodes with atob, which ignores the unused low bits of the last character: an HS256 token has 3 other spellings
  // (its 32-byte signature leaves 2 bits unused; an ES256 one leaves 4, so 15 others) that all verify. The raw token (@FoundToken, AuthContext.token) is then not a stable identity:
  // an app that deny-lists or rate-limits by token string, or logs it for replay detection, is bypassed.
  it('refuses a non-canonical base64url spelling of a genuine signature (token malleability)', async () => {
    const login = await loginOver(fixture);
    const variants = nonCanonicalSpellings(login.tokens.access);
    expect(new Set([login.tokens.access, ...variants]).size).toBe(4);
    const statuses: number[] = [];
    for (const variant of variants) {
      statuses.push((await fixture.http().get('/me').set('Authorization', `Bearer ${variant}`)).status);
    }
    expect(statuses).toEqual([401, 401, 401]);
  });

  it.each([
    ['Bearer followed by nothing', 'Bearer'],
    ['two Bearer tokens in one header', 'Bearer a.b.c, Bearer d.e.f'],
    ['a no-break space (latin1 0xA0) after Bearer', 'Bearer\xa0a.b.c'],
    ['latin1 bytes', '\xff\xfe\xfd'],
    ['Basic credentials a browser adds by itself', 'Basic dXNlcjpwYXNz'],
    ['a token of maxTokenLength + 1 characters', `Bearer ${'a'.repeat(4000)}.${'b'.repeat(4000)}.${'c'.repeat(191)}`],
  ])('answers 401, never 500, to an Authorization header with %s', async (_name, value) => {
    const answer = await sendRaw(fixture.port, 'GET', '/me', [['Authorization', value]]);
    expect(answer.status).toBe(401);
  });

  it('keeps the first of two Authorization headers (Node drops the second): a forged first one is refused', async () => {
    const login = await loginOver(fixture);
    const forged = `${login.tokens.access.slice(0, -5)}AAAAA`;
    expect((await sendRaw(fixture.port, 'GET', '/me', [['Authorization', `Bearer ${forged}`], ['Authorization', `Bearer ${login.tokens.access}`]])).status).toBe(401);
    expect((await sendRaw(fixture.port, 'GET', '/me', [['Authorization', `Bearer ${login.tokens.access}`], ['Authorization', `Bearer ${forged}`]])).status).toBe(200);
  });

  it('answers a folded (obs-fold) Authorization header with 400 or 401, never 500', async () => {
    const login = await loginOver(fixture);
    const answer = await sendRaw(fixture.port, 'GET', '/me', [['Authorization', `Bearer\r\n ${login.tokens.access}`]]);
    expect([400, 401]).toContain(answer.status);
  });

  it('does not let a refresh token pass as an access token, nor the reverse, in any transport', async () => {
    const login = await loginOver(fixture);
    await fixture.http().get('/me').set('Authorization', `Bearer ${login.tokens.refresh}`).expect(401);
    await fixture.http().get('/me').set('Cookie', `jwt_access=${login.tokens.refresh}`).expect(401);
    await fixture.http().post('/refresh').set('X-Refresh-Token', login.tokens.access).expect(401);
    await fixture.http().post('/refresh-by-access').set('Authorization', `Bearer ${login.tokens.refresh}`).expect(401);
  });
});

describe('review: kid and keyring', () => {
  const secretA = 'review-key-a-0123456789abcdefghij';
  const secretB = 'review-key-b-0123456789abcdefghij';
  let fixture: ReviewApp;
  beforeAll(async () => {
    // Kids spelt like Object.prototype members: the keyring must treat them as plain strings.
    fixture = await bootReviewApp({ keys: [{ kid: '__proto__', signingKey: secretA }, { kid: 'constructor', signingKey: secretB }] });
  });
  afterAll(() => fixture.close());

  it('signs with the kid "__proto__" and verifies by it like any other kid', async () => {
    const login = await loginOver(fixture);
    expect(JSON.parse(Buffer.from(login.tokens.access.split('.')[0], 'base64url').toString()).kid).toBe('__proto__');
    await fixture.http().get('/me').set('Authorization', `Bearer ${login.tokens.access}`).expect(200);
  });

  it.each(['toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', 'prototype', 'size'])(
    'refuses a token whose kid is "%s", even signed with a configured secret',
    async (kid) => {
      const login = await loginOver(fixture);
      const token = hs256(secretA, { alg: 'HS256', typ: 'at+jwt', kid }, claimsOf(login.tokens.access));
      await fixture.http().get('/me').set('Authorization', `Bearer ${token}`).expect(401);
    },
  );

  it('verifies a token only with the key its kid names: key A\'s signature under kid "constructor" is refused', async () => {
    const login = await loginOver(fixture);
    const token = hs256(secretA, { alg: 'HS256', typ: 'at+jwt', kid: 'constructor' }, claimsOf(login.tokens.access));
    await fixture.http().get('/me').set('Authorization', `Bearer ${token}`).expect(401);
  });
});

describe('review: JWKS', () => {
  let fixture: ReviewApp;
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const hmac = 'review-jwks-hmac-secret-0123456789';
  beforeAll(async () => {
    fixture = await bootReviewApp({
      keys: [
        { kid: 'ec', algorithm: 'ES256', privateKey: ec.privateKey },
        { kid: 'hs', algorithm: 'HS256', signingKey: hmac },
        // A private JWK given where a public key is expected: only its public half may be published.
        { kid: 'rsa', algorithm: 'RS256', publicKey: rsa.privateKey.export({ format: 'jwk' }) },
      ],
    }, { jwksPath: '.well-known/jwks.json' });
  });
  afterAll(() => fixture.close());

  it('publishes the public members only: no d, p, q, dp, dq, qi, k, and never the HMAC secret', async () => {
    const answer = await fixture.http().get('/.well-known/jwks.json').expect(200);
    expect(answer.body.keys.map((key: { kid: string }) => key.kid)).toEqual(['ec', 'rsa']);
    for (const key of answer.body.keys) {
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth', 'key_ops', 'ext']) expect(key).not.toHaveProperty(member);
    }
    expect(answer.text).not.toContain(Buffer.from(hmac).toString('base64url'));
    expect(answer.text).not.toContain(hmac);
  });

  it('stamps typ on both kinds: a JWKS verifier that checks typ at+jwt refuses the refresh token, one that does not takes it', async () => {
    const login = await loginOver(fixture);
    const spki = await importSPKI(String(ec.publicKey.export({ type: 'spki', format: 'pem' })), 'ES256');
    const currentDate = new Date(fixture.clock.now());
    await expect(jwtVerify(login.tokens.refresh, spki, { typ: 'at+jwt', currentDate })).rejects.toThrow('typ');
    await expect(jwtVerify(login.tokens.access, spki, { typ: 'at+jwt', currentDate })).resolves.toBeDefined();
    // Info: a naive verifier (no typ check) takes the long-lived refresh token, with the app's claims, as a token of ours.
    await expect(jwtVerify(login.tokens.refresh, spki, { currentDate })).resolves.toBeDefined();
  });

  it('does not let an HS256 token under the EC kid, keyed with the published EC JWK, pass', async () => {
    const login = await loginOver(fixture);
    const published = (await fixture.http().get('/.well-known/jwks.json')).body.keys[0];
    const token = hs256(JSON.stringify(published), { alg: 'HS256', typ: 'at+jwt', kid: 'ec' }, claimsOf(login.tokens.access));
    await fixture.http().get('/me').set('Authorization', `Bearer ${token}`).expect(401);
  });
});

describe('review: cookies', () => {
  let fixture: ReviewApp;
  beforeAll(async () => { fixture = await bootReviewApp(); });
  afterAll(() => fixture.close());

  it('reads the first of two jwt_access cookies: a forged (or tossed) first one is refused and does not fall through', async () => {
    const login = await loginOver(fixture);
    const forged = hs256('attacker-secret-0123456789abcdef', { alg: 'HS256', typ: 'at+jwt' }, claimsOf(login.tokens.access));
    await fixture.http().get('/me').set('Cookie', `jwt_access=${forged}; ${cookie(login)}`).expect(401);
    await fixture.http().get('/me').set('Cookie', `${cookie(login)}; jwt_access=${forged}`).expect(200);
    // Two Cookie header lines are joined by Node with "; ": the same rule applies.
    expect((await sendRaw(fixture.port, 'GET', '/me', [['Cookie', `jwt_access=${forged}`], ['Cookie', cookie(login)]])).status).toBe(401);
  });

  it('matches the cookie name exactly: JWT_ACCESS, a __Host- prefixed or a suffixed name is not read', async () => {
    const login = await loginOver(fixture);
    const token = login.cookies.jwt_access;
    await fixture.http().get('/me').set('Cookie', `JWT_ACCESS=${token}`).expect(401);
    await fixture.http().get('/me').set('Cookie', `__Host-jwt_access=${token}`).expect(401);
    await fixture.http().get('/me').set('Cookie', `jwt_access2=${token}`).expect(401);
  });

  it.each([
    ['a stray percent sign', 'jwt_access=%'],
    ['a broken percent escape', 'jwt_access=%E0%A4%A'],
    ['prototype keys first', '__proto__=x; constructor=y; toString=z; jwt_access=a.b.c'],
    ['nameless and empty pairs', '=; ;;; jwt_access'],
    ['latin1 bytes', 'jwt_access=\xff\xfe'],
    ['an empty first value', 'jwt_access=; jwt_access=a.b.c'],
  ])('answers 401, never 500, to a Cookie header with %s (guarded and unguarded routes)', async (_name, value) => {
    expect((await sendRaw(fixture.port, 'GET', '/me', [['Cookie', value]])).status).toBe(401);
    expect([200, 401]).toContain((await sendRaw(fixture.port, 'POST', '/public', [['Cookie', value]])).status);
  });

  it('does not let an empty Authorization header turn a cookie request into a header one (CSRF still needed)', async () => {
    const login = await loginOver(fixture);
    expect((await sendRaw(fixture.port, 'POST', '/me', [['Authorization', ''], ['Cookie', cookie(login)]])).status).toBe(401);
    expect((await sendRaw(fixture.port, 'POST', '/me', [['Authorization', ' '], ['Cookie', cookie(login)]])).status).toBe(401);
  });
});

describe('review: cookies with hostPrefix', () => {
  let fixture: ReviewApp;
  beforeAll(async () => { fixture = await bootReviewApp({ cookieOptions: { hostPrefix: true } }); });
  afterAll(() => fixture.close());

  it('reads only __Host-jwt_access: an unprefixed or lower-cased one (which a sibling subdomain can toss) is ignored', async () => {
    const login = await loginOver(fixture);
    const token = login.cookies['__Host-jwt_access'];
    expect(token).toBeDefined();
    await fixture.http().get('/me').set('Cookie', `__Host-jwt_access=${token}`).expect(200);
    await fixture.http().get('/me').set('Cookie', `jwt_access=${token}`).expect(401);
    await fixture.http().get('/me').set('Cookie', `__host-jwt_access=${token}`).expect(401);
    await fixture.http().get('/me').set('Cookie', `__HOST-jwt_access=${token}`).expect(401);
  });
});

describe('review: CSRF', () => {
  let fixture: ReviewApp;
  beforeAll(async () => { fixture = await bootReviewApp({}, { methodOverride: true }); });
  afterAll(() => fixture.close());

  it('control: a cookie POST with the session\'s CSRF token passes, without it is refused', async () => {
    const login = await loginOver(fixture);
    await fixture.http().post('/me').set('Cookie', cookie(login)).set('X-CSRF-Token', login.tokens.csrf).expect(200);
    await fixture.http().post('/me').set('Cookie', cookie(login)).expect(401);
  });

  it('refuses the CSRF token of the attacker\'s own session with the victim\'s cookie', async () => {
    const victim = await loginOver(fixture);
    const attacker = await loginOver(fixture, { payload: { user_id: 666 }, namespace: 'user-666' });
    await fixture.http().post('/me').set('Cookie', cookie(victim)).set('X-CSRF-Token', attacker.tokens.csrf).expect(401);
  });

  it('refuses two X-CSRF-Token headers (Node joins them), even both valid', async () => {
    const login = await loginOver(fixture);
    const answer = await sendRaw(fixture.port, 'POST', '/me', [['Cookie', cookie(login)], ['X-CSRF-Token', login.tokens.csrf], ['X-CSRF-Token', login.tokens.csrf]]);
    expect(answer.status).toBe(401);
  });

  it.each(['GET', 'HEAD', 'get'])('needs CSRF when method override turns a wire POST into %s', async (override) => {
    const login = await loginOver(fixture);
    const headers: Array<[string, string]> = [['X-HTTP-Method-Override', override], ['Cookie', cookie(login)]];
    expect((await sendRaw(fixture.port, 'POST', '/me', headers)).status).toBe(401);
    expect((await sendRaw(fixture.port, 'POST', '/me', [...headers, ['X-CSRF-Token', login.tokens.csrf]])).status).toBe(200);
  });

  it('needs CSRF when method override turns a wire POST into DELETE', async () => {
    const login = await loginOver(fixture);
    const headers: Array<[string, string]> = [['X-HTTP-Method-Override', 'DELETE'], ['Cookie', cookie(login)]];
    expect((await sendRaw(fixture.port, 'POST', '/me', headers)).status).toBe(401);
    expect((await sendRaw(fixture.port, 'POST', '/me', [...headers, ['X-CSRF-Token', login.tokens.csrf]])).status).toBe(200);
  });

  it('treats HEAD as safe (a GET handler, or a catch-all handler) and OPTIONS as unsafe', async () => {
    const login = await loginOver(fixture);
    await fixture.http().head('/me').set('Cookie', cookie(login)).expect(200);
    await fixture.http().head('/any').set('Cookie', cookie(login)).expect(200);
    await fixture.http().options('/any').set('Cookie', cookie(login)).expect(401);
    await fixture.http().put('/any').set('Cookie', cookie(login)).expect(401);
  });

  it('needs CSRF on an unguarded unsafe route with @TokenPayload(), and answers {} without a token', async () => {
    const login = await loginOver(fixture);
    await fixture.http().post('/public').set('Cookie', cookie(login)).expect(401);
    const ok = await fixture.http().post('/public').set('Cookie', cookie(login)).set('X-CSRF-Token', login.tokens.csrf).expect(200);
    expect(ok.body.payload.user_id).toBe(1);
    // @ClaimlessPayload() without a guard never verifies anything: {}.
    expect(ok.body.claimless).toEqual({});
    expect((await fixture.http().post('/public').expect(200)).body).toEqual({ payload: {}, claimless: {} });
  });

  it('rotates the CSRF secret on refresh: the masked token of before no longer passes', async () => {
    const login = await loginOver(fixture);
    const refreshed = await fixture.http().post('/refresh').set('X-Refresh-Token', login.tokens.refresh).expect(200);
    const access = `jwt_access=${refreshed.body.access}`;
    await fixture.http().post('/me').set('Cookie', access).set('X-CSRF-Token', login.tokens.csrf).expect(401);
    await fixture.http().post('/me').set('Cookie', access).set('X-CSRF-Token', refreshed.body.csrf).expect(200);
  });

  // Review finding (low, fixed): AuthContext.session is the StoredSession with its raw CSRF secret (and the current access uid).
  // The raw secret is accepted as a CSRF token (as the gem does), never rotates until a refresh, and is unmasked,
  // so an app answering @CurrentSession() (a "whoami" or debug route) hands out a reusable, BREACH-able CSRF token:
  // exactly what maskCsrfSecret and toSessionInfo take care never to expose.
  it('does not expose the raw CSRF secret through @CurrentSession()', async () => {
    const login = await loginOver(fixture);
    const answer = await fixture.http().get('/context').set('Cookie', cookie(login)).expect(200);
    const context = answer.body as AuthContext;
    const leaked = (context.session as unknown as { csrf?: string }).csrf;
    // Proof that what leaks works as a CSRF token:
    if (leaked !== undefined) {
      const replay = await fixture.http().post('/me').set('Cookie', cookie(login)).set('X-CSRF-Token', leaked);
      expect(replay.status).toBe(200);
    }
    expect(leaked).toBeUndefined();
  });
});

describe('review: rejectCrossSite', () => {
  let fixture: ReviewApp;
  // The app is api.example.com (the Host a browser sends); secure: true (the default), so its cookies only ever travel
  // over HTTPS and a page that makes the browser send them is an https: page.
  const HOST = 'api.example.com';
  beforeAll(async () => { fixture = await bootReviewApp({ cookieOptions: { rejectCrossSite: true, trustedOrigins: ['https://app.example.com'] } }); });
  afterAll(() => fixture.close());

  const post = async (origin: string | undefined, extra: Array<[string, string]> = [], host = HOST) => {
    const login = await loginOver(fixture);
    const headers: Array<[string, string]> = [['Host', host], ['Cookie', cookie(login)], ['X-CSRF-Token', login.tokens.csrf], ...extra];
    if (origin !== undefined) headers.push(['Origin', origin]);
    return sendRaw(fixture.port, 'POST', '/me', headers);
  };

  it('control: the same origin, and no Origin at all, pass with a valid CSRF token', async () => {
    expect((await post(`https://${HOST}`)).status).toBe(200);
    expect((await post(`https://${HOST}`, [['Sec-Fetch-Site', 'same-origin']])).status).toBe(200);
    expect((await post(undefined)).status).toBe(200);
  });

  it.each([
    ['a look-alike suffix', `https://${HOST}.evil.com`],
    ['a look-alike prefix', `https://evil${HOST}`],
    ['a sibling subdomain', 'https://evil.example.com'],
    ['the parent domain', 'https://example.com'],
    ['another port', `https://${HOST}:8443`],
    ['an IPv6 host', 'https://[::1]'],
    ['the host with a trailing dot', `https://${HOST}.`],
    ['an opaque origin', 'null'],
    ['a garbled origin', 'https://['],
    ['two origins', `https://${HOST}, https://evil.com`],
    ['latin1 bytes', `https://${HOST}\xff`],
  ])('refuses, even with a valid CSRF token, an Origin with %s', async (_name, origin) => {
    const answer = await post(origin);
    expect(answer.status).toBe(401);
    expect(answer.body).toContain('Cross-site request refused');
  });

  it.each([
    ['an IPv6 Host', '[::1]:8080', 'https://[::1]:8080', 200],
    ['an IPv6 Host and another IPv6 Origin', '[::1]:8080', 'https://[::2]:8080', 401],
    ['an upper-case Host (hosts are case-insensitive)', 'API.EXAMPLE.COM', `https://${HOST}`, 200],
    ['an empty Host', '', `https://${HOST}`, 401],
    ['a Host with userinfo (never from a browser)', `evil.com@${HOST}`, `https://${HOST}`, 200],
  ])('compares %s by host', async (_name, host, origin, status) => {
    expect((await post(origin, [], host)).status).toBe(status);
  });

  it('refuses Sec-Fetch-Site: cross-site, and a sibling subdomain the browser calls same-site', async () => {
    expect((await post(undefined, [['Sec-Fetch-Site', 'cross-site']])).status).toBe(401);
    expect((await post(`https://${HOST}`, [['Sec-Fetch-Site', 'Cross-Site']])).status).toBe(401);
    expect((await post('https://evil.example.com', [['Sec-Fetch-Site', 'same-site']])).status).toBe(401);
  });

  it('compares trusted origins exactly: case, trailing slash, suffixes and scheme do not match', async () => {
    expect((await post('https://app.example.com', [['Sec-Fetch-Site', 'cross-site']])).status).toBe(200);
    for (const origin of ['https://APP.example.com', 'https://app.example.com/', 'https://app.example.com.evil.com', 'http://app.example.com', 'https://app.example.com:443']) {
      expect({ origin, status: (await post(origin, [['Sec-Fetch-Site', 'cross-site']])).status }).toEqual({ origin, status: 401 });
    }
  });

  it('still needs the CSRF token when Host and Origin agree on a host the attacker names (a browser cannot set Host)', async () => {
    const login = await loginOver(fixture);
    const answer = await sendRaw(fixture.port, 'POST', '/me', [['Host', 'evil.com'], ['Origin', 'https://evil.com'], ['Cookie', cookie(login)]]);
    expect(answer.status).toBe(401);
    expect(answer.body).toContain('CSRF token is invalid');
    // Only a non-browser client can send an Origin with userinfo; it passes the screen but still needs the CSRF token.
    const userinfo = await sendRaw(fixture.port, 'POST', '/me', [['Host', HOST], ['Origin', `https://evil.com@${HOST}`], ['Cookie', cookie(login)]]);
    expect(userinfo.status).toBe(401);
    expect(userinfo.body).toContain('CSRF token is invalid');
  });

  it('screens only unsafe cookie requests: a cross-site GET passes (SameSite=Lax sends it on navigation anyway)', async () => {
    const login = await loginOver(fixture);
    const answer = await sendRaw(fixture.port, 'GET', '/me', [['Host', HOST], ['Cookie', cookie(login)], ['Origin', 'https://evil.com'], ['Sec-Fetch-Site', 'cross-site']]);
    expect(answer.status).toBe(200);
  });

  // Review finding (low, fixed): isSameHost compares host and port only, reading Host with the Origin's own scheme, so an
  // http: Origin matches an https: deployment. With Secure cookies (the default) the request carrying them was sent
  // to an https: origin, so an http: Origin is another origin (and another site, schemefully): the page of a network
  // attacker injected into http://api.example.com (no HSTS) passes the screen whenever the browser leaves
  // Sec-Fetch-Site out or does not call it cross-site. The CSRF token still applies: defence in depth only.
  it('refuses an http: Origin for the same host when the cookies are Secure', async () => {
    const answer = await post(`http://${HOST}`);
    expect(answer.status).toBe(401);
    expect(answer.body).toContain('Cross-site request refused');
  });
});

describe('review: refresh by access', () => {
  let fixture: ReviewApp;
  beforeAll(async () => { fixture = await bootReviewApp(); });
  afterAll(() => fixture.close());

  it('re-issues the payload of the token\'s own session only: a user cannot refresh into another user\'s claims', async () => {
    const alice = await loginOver(fixture, { payload: { user_id: 1 }, namespace: 'user-1' });
    await loginOver(fixture, { payload: { user_id: 2 }, namespace: 'user-2' });
    fixture.clock.advance(3601);
    const refreshed = await fixture.http().post('/refresh-by-access').set('Authorization', `Bearer ${alice.tokens.access}`).expect(200);
    expect(claimsOf(refreshed.body.access)).toMatchObject({ user_id: 1, ruid: claimsOf(alice.tokens.access).ruid });
    // The expired token is now superseded: it cannot mint a second one.
    await fixture.http().post('/refresh-by-access').set('Authorization', `Bearer ${alice.tokens.access}`).expect(401);
  });

  it('refuses an access token of a session that does not allow refresh by access, and one of a flushed session', async () => {
    const closed = await loginOver(fixture, { refreshByAccessAllowed: false });
    await fixture.http().post('/refresh-by-access').set('Authorization', `Bearer ${closed.tokens.access}`).expect(401);
    const flushed = await loginOver(fixture);
    await fixture.sessions.flushByAccessPayload(claimsOf(flushed.tokens.access) as { ruid: string });
    await fixture.http().post('/refresh-by-access').set('Authorization', `Bearer ${flushed.tokens.access}`).expect(401);
  });

  it('needs CSRF for a cookie-borne expired access token', async () => {
    const login = await loginOver(fixture);
    fixture.clock.advance(3601);
    await fixture.http().post('/refresh-by-access').set('Cookie', cookie(login)).expect(401);
    await fixture.http().post('/refresh-by-access').set('Cookie', cookie(login)).set('X-CSRF-Token', login.tokens.csrf).expect(200);
  });
});

describe('review: payload and prototype pollution', () => {
  let fixture: ReviewApp;
  beforeAll(async () => { fixture = await bootReviewApp(); });
  afterAll(() => fixture.close());

  it('carries __proto__ and constructor payload keys as plain data, polluting nothing, and answers no 500', async () => {
    const body = JSON.parse('{"payload":{"user_id":7,"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"uid":"x","ruid":"y"}}');
    const login = await loginOver(fixture, body);
    const claims = claimsOf(login.tokens.access);
    expect(Object.prototype.hasOwnProperty.call(claims, '__proto__')).toBe(true);
    expect(claims.uid).not.toBe('x');
    expect(claims.ruid).not.toBe('y');
    const me = await fixture.http().get('/me').set('Authorization', `Bearer ${login.tokens.access}`).expect(200);
    expect(me.body.payload.user_id).toBe(7);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const refreshed = await fixture.http().post('/refresh').set('X-Refresh-Token', login.tokens.refresh).expect(200);
    expect(claimsOf(refreshed.body.access).user_id).toBe(7);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('signs a reserved claim of the payload over with the session\'s own value (uid, ruid, exp, iat)', async () => {
    const now = Math.floor(fixture.clock.now() / 1000);
    const login = await loginOver(fixture, { payload: { user_id: 1, exp: now + 10 ** 8, iat: now - 10 } });
    const claims = claimsOf(login.tokens.access);
    expect(claims.exp).toBe(now + 3600);
    expect(claims.iat).toBe(now);
  });

  it('does not leak the HMAC secret in any 401 body', async () => {
    const token = await new SignJWT({ uid: 'a', ruid: 'b', exp: 1 }).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
      .sign(new TextEncoder().encode(REVIEW_HS256_KEY));
    const answer = await fixture.http().get('/me').set('Authorization', `Bearer ${token}`).expect(401);
    expect(answer.text).not.toContain(REVIEW_HS256_KEY);
  });
});

describe('review: key material at bootstrap', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });

  // Review finding (low, hardening, fixed): an HMAC signingKey is refused when it is an asymmetric KeyObject or JWK, but accepted
  // as a string whatever it holds, so a public-key PEM (what an RS256 -> HS256 migration or a mixed-up env var
  // leaves in JWT_SIGNING_KEY) becomes the HMAC secret: anyone holding the public key (published, in a JWKS, in the
  // repo) then signs valid tokens. The PEM is long enough to pass the 32-byte minimum.
  it('refuses a public-key PEM string as an HMAC signingKey', async () => {
    const publicPem = String(rsa.publicKey.export({ type: 'spki', format: 'pem' }));
    const booted: ReviewApp | Error = await bootReviewApp({ signingKey: publicPem })
      .catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
    if (!(booted instanceof Error)) {
      // It started: prove the consequence, then fail. Anyone with the public key forges a token the HMAC check takes.
      const login = await loginOver(booted);
      const forged = hs256(publicPem, { alg: 'HS256', typ: 'at+jwt' }, { ...claimsOf(login.tokens.access), user_id: 'admin' });
      const status = (await booted.http().get('/me').set('Authorization', `Bearer ${forged}`)).status;
      await booted.close();
      expect({ started: true, forgedTokenStatus: status }).toEqual({ started: false, forgedTokenStatus: 401 });
    }
    expect(booted).toBeInstanceOf(MalconfiguredError);
  });

  it('control: an asymmetric KeyObject as signingKey is already refused', async () => {
    await expect(bootReviewApp({ signingKey: rsa.privateKey })).rejects.toBeInstanceOf(MalconfiguredError);
  });
});

describe('review: login limits', () => {
  let fixture: ReviewApp;
  beforeAll(async () => { fixture = await bootReviewApp(); });
  afterAll(() => fixture.close());

  it.each([
    ['ASCII', 'x'.repeat(3200)],
    ['two-byte UTF-8', '\u00e9'.repeat(1700)],
  ])('refuses with 401, storing nothing, a payload whose token a browser would not keep as a cookie (%s)', async (_name, big) => {
    const answer = await fixture.http().post('/login').send({ payload: { big }, namespace: 'big-payload' });
    expect(answer.status).toBe(401);
    expect(answer.body.code).toBe('ERR_JWT_SESSIONS_INVALID_PAYLOAD');
    expect(answer.headers['set-cookie']).toBeUndefined();
    expect(await fixture.sessions.listSessions('big-payload')).toEqual([]);
  });
});
