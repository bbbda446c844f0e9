/**
 * Claim checks over HTTP, with tokens signed by the app's real key so that the claim under test is the only defect:
 * issuer and audience (`verify`), and the time claims at and around the leeway boundary. jose's rules, which the
 * module passes its leeway to as `clockTolerance`: a token is expired when `exp <= now - leeway`, not yet valid when
 * `nbf > now + leeway`; the module itself refuses `iat > now + leeway`. `now` is the manual clock in whole seconds.
 */
import { describe, expect, it } from '@jest/globals';
import type request from 'supertest';
import { hmacToken } from './support/forge.js';
import {
  bootSecurityApp, claimsFor, expectRefusedWithoutStore, NO_STORE_CALLS, ROUTE_NAMES, ROUTES, SECURITY_HS256_KEY,
  useSecurityApp, type JsonObject, type RouteName, type SecurityApp,
} from './support/security-app.js';

/** A token signed with the app's real key (HS256) and the route's `typ`, carrying exactly these claims. */
function realSigned(route: RouteName, claims: JsonObject): string {
  return hmacToken('HS256', SECURITY_HS256_KEY, { alg: 'HS256', typ: ROUTES[route].typ }, claims);
}

/** The claims of a fresh login for a route, changed; `undefined` values remove the claim. */
async function claimsWith(fixture: SecurityApp, route: RouteName, changes: JsonObject): Promise<JsonObject> {
  const claims = { ...claimsFor(route, await fixture.login()), ...changes };
  for (const [name, value] of Object.entries(changes)) if (value === undefined) delete claims[name];
  return claims;
}

/** Sends a real-key token and asserts it passes with exactly one store lookup before the handler (and a relink on refreshes). */
async function expectAccepted(fixture: SecurityApp, route: RouteName, token: string): Promise<request.Response> {
  fixture.resetCalls();
  const response = await ROUTES[route].send(fixture.http(), token);
  expect({ status: response.status, body: response.body }).toEqual({ status: 200, body: expect.any(Object) });
  // The guard finds the session; a refresh then relinks it in one step, a refresh by access reads it and relinks it.
  const refreshCalls = { access: {}, refresh: { relinkByRefreshToken: 1 }, 'refresh-by-access': { find: 2, relink: 1 } }[route];
  expect(fixture.calls()).toEqual({ ...NO_STORE_CALLS, find: 1, ...refreshCalls });
  return response;
}

const ISSUER = 'https://auth.example';
const AUDIENCE = 'api.example';
const CLAIMS = 'ERR_JWT_SESSIONS_CLAIMS_VERIFICATION';
const EXPIRED = 'ERR_JWT_SESSIONS_EXPIRED';

describe('13. verify: { issuer, audience }', () => {
  const fixture = useSecurityApp({ signingKey: SECURITY_HS256_KEY, verify: { issuer: ISSUER, audience: AUDIENCE } });

  it('control: the app stamps iss and aud, and its genuine and hand-signed tokens pass every route', async () => {
    for (const route of ROUTE_NAMES) {
      const login = await fixture.login();
      expect(claimsFor(route, login)).toMatchObject({ iss: ISSUER, aud: AUDIENCE });
      const genuine = route === 'refresh' ? login.tokens.refresh : login.tokens.access;
      expect((await ROUTES[route].send(fixture.http(), genuine)).status).toBe(200);
      await expectAccepted(fixture, route, realSigned(route, await claimsWith(fixture, route, {})));
    }
  });

  it('control: an audience list that contains the configured audience passes', async () => {
    await expectAccepted(fixture, 'access', realSigned('access', await claimsWith(fixture, 'access', { aud: ['other.example', AUDIENCE] })));
  });

  const changes: Array<[string, JsonObject]> = [
    ['another issuer', { iss: 'https://evil.example' }],
    ['no issuer', { iss: undefined }],
    ['the issuer in upper case', { iss: ISSUER.toUpperCase() }],
    ['the issuer with a trailing slash', { iss: `${ISSUER}/` }],
    ['the issuer wrapped in a list', { iss: [ISSUER] }],
    ['a null issuer', { iss: null }],
    ['another audience', { aud: 'other.example' }],
    ['no audience', { aud: undefined }],
    ['an empty audience list', { aud: [] }],
    ['a list of other audiences', { aud: ['other.example', 'evil.example'] }],
    ['the audience in upper case', { aud: AUDIENCE.toUpperCase() }],
    ['a null audience', { aud: null }],
    ['an audience object', { aud: { [AUDIENCE]: true } }],
    ['neither issuer nor audience', { iss: undefined, aud: undefined }],
  ];
  const cases = ROUTE_NAMES.flatMap((route) => changes.map(([name, change]) => [route, name, change] as const));

  it.each(cases)('%s: a real-key token with %s is refused', async (route, _name, change) => {
    const token = realSigned(route, await claimsWith(fixture, route, change));
    await expectRefusedWithoutStore(fixture, (http) => ROUTES[route].send(http, token), CLAIMS);
  });

  it('genuine tokens of another app sharing the signing key but with another issuer and audience are refused', async () => {
    const other = await bootSecurityApp({ signingKey: SECURITY_HS256_KEY, verify: { issuer: 'https://other.example', audience: 'other-api' } });
    try {
      const login = await other.login();
      for (const route of ROUTE_NAMES) {
        const token = route === 'refresh' ? login.tokens.refresh : login.tokens.access;
        await expectRefusedWithoutStore(fixture, (http) => ROUTES[route].send(http, token), CLAIMS);
      }
    } finally {
      await other.close();
    }
  });
});

describe('16. time claims around the leeway (verify.leeway = 30)', () => {
  const LEEWAY = 30;
  const fixture = useSecurityApp({ signingKey: SECURITY_HS256_KEY, verify: { leeway: LEEWAY } });
  const now = () => fixture.nowSeconds();

  describe('exp', () => {
    it.each(['access', 'refresh'] as const)('%s: exp = now - leeway - 1 is refused as expired', async (route) => {
      const token = realSigned(route, await claimsWith(fixture, route, { exp: now() - LEEWAY - 1 }));
      await expectRefusedWithoutStore(fixture, (http) => ROUTES[route].send(http, token), EXPIRED);
    });

    it.each(['access', 'refresh'] as const)('%s: exp = now - leeway is refused as expired too (jose: exp <= now - leeway)', async (route) => {
      const token = realSigned(route, await claimsWith(fixture, route, { exp: now() - LEEWAY }));
      await expectRefusedWithoutStore(fixture, (http) => ROUTES[route].send(http, token), EXPIRED);
    });

    it.each(['access', 'refresh'] as const)('%s: exp = now - leeway + 1 is accepted', async (route) => {
      await expectAccepted(fixture, route, realSigned(route, await claimsWith(fixture, route, { exp: now() - LEEWAY + 1 })));
    });

    it('access: the payload of a token accepted within the leeway is what was signed', async () => {
      const claims = await claimsWith(fixture, 'access', { exp: now() - 1 });
      const response = await expectAccepted(fixture, 'access', realSigned('access', claims));
      expect(response.body).toEqual(claims);
    });

    it('refresh-by-access: exp far beyond the leeway is waived (only exp), and a new token is minted', async () => {
      const response = await expectAccepted(fixture, 'refresh-by-access', realSigned('refresh-by-access', await claimsWith(fixture, 'refresh-by-access', { exp: now() - 86_400 })));
      expect(typeof response.body.access).toBe('string');
    });

    it.each(ROUTE_NAMES)('%s: a token without exp is refused', async (route) => {
      const token = realSigned(route, await claimsWith(fixture, route, { exp: undefined }));
      await expectRefusedWithoutStore(fixture, (http) => ROUTES[route].send(http, token), CLAIMS);
    });

    const nonNumeric: Array<[string, unknown]> = [
      ['the string "9999999999"', '9999999999'],
      ['null', null],
      ['an empty object', {}],
      ['a list holding a number', [9_999_999_999]],
      ['true', true],
      ['the string "1e10"', '1e10'],
    ];
    const cases = ROUTE_NAMES.flatMap((route) => nonNumeric.map(([name, value]) => [route, name, value] as const));
    it.each(cases)('%s: exp that is %s is refused (never waived, even on refresh by access)', async (route, _name, value) => {
      const token = realSigned(route, await claimsWith(fixture, route, { exp: value }));
      await expectRefusedWithoutStore(fixture, (http) => ROUTES[route].send(http, token), CLAIMS);
    });
  });

  describe('nbf', () => {
    it.each(ROUTE_NAMES)('%s: nbf = now + leeway + 1 is refused', async (route) => {
      const token = realSigned(route, await claimsWith(fixture, route, { nbf: now() + LEEWAY + 1 }));
      await expectRefusedWithoutStore(fixture, (http) => ROUTES[route].send(http, token), CLAIMS);
    });

    it.each(['access', 'refresh'] as const)('%s: nbf = now + leeway is accepted', async (route) => {
      await expectAccepted(fixture, route, realSigned(route, await claimsWith(fixture, route, { nbf: now() + LEEWAY })));
    });

    it('refresh-by-access: a future nbf is refused even when exp has passed (only exp is waived)', async () => {
      const token = realSigned('refresh-by-access', await claimsWith(fixture, 'refresh-by-access', { nbf: now() + LEEWAY + 1, exp: now() - 3600 }));
      await expectRefusedWithoutStore(fixture, (http) => ROUTES['refresh-by-access'].send(http, token), CLAIMS);
    });

    it.each([['"0"', '0'], ['null', null]])('access and refresh-by-access: a non-numeric nbf (%s) is refused', async (_name, value) => {
      for (const route of ['access', 'refresh-by-access'] as const) {
        const token = realSigned(route, await claimsWith(fixture, route, { nbf: value }));
        await expectRefusedWithoutStore(fixture, (http) => ROUTES[route].send(http, token), CLAIMS);
      }
    });
  });

  describe('iat', () => {
    // The same error on every path, the refresh-by-access one (where the expired token's claims are read) included.
    it.each(ROUTE_NAMES)('%s: iat = now + leeway + 1 is refused with ERR_JWT_SESSIONS_CLAIMS_VERIFICATION', async (route) => {
      const token = realSigned(route, await claimsWith(fixture, route, { iat: now() + LEEWAY + 1 }));
      await expectRefusedWithoutStore(fixture, (http) => ROUTES[route].send(http, token), CLAIMS);
    });

    it.each(['access', 'refresh'] as const)('%s: iat = now + leeway is accepted', async (route) => {
      await expectAccepted(fixture, route, realSigned(route, await claimsWith(fixture, route, { iat: now() + LEEWAY })));
    });

    it('refresh-by-access: iat in the future is refused even when exp has passed', async () => {
      const token = realSigned('refresh-by-access', await claimsWith(fixture, 'refresh-by-access', { iat: now() + 3600, exp: now() - 3600 }));
      await expectRefusedWithoutStore(fixture, (http) => ROUTES['refresh-by-access'].send(http, token), CLAIMS);
    });

    it.each([['"0"', '0'], ['null', null]])('access and refresh-by-access: a non-numeric iat (%s) is refused', async (_name, value) => {
      for (const route of ['access', 'refresh-by-access'] as const) {
        const token = realSigned(route, await claimsWith(fixture, route, { iat: value }));
        await expectRefusedWithoutStore(fixture, (http) => ROUTES[route].send(http, token), CLAIMS);
      }
    });
  });
});

describe('16. time claims without leeway (the default, 0)', () => {
  const fixture = useSecurityApp({ signingKey: SECURITY_HS256_KEY });
  const now = () => fixture.nowSeconds();

  it.each<[string, JsonObject, string | undefined]>([
    ['exp = now', { exp: 0 }, EXPIRED],
    ['nbf = now + 1', { nbf: 1 }, CLAIMS],
    ['iat = now + 1', { iat: 1 }, CLAIMS],
  ])('access: %s is refused', async (_name, offsets, code) => {
    const changes = Object.fromEntries(Object.entries(offsets).map(([claim, offset]) => [claim, now() + Number(offset)]));
    const token = realSigned('access', await claimsWith(fixture, 'access', changes));
    await expectRefusedWithoutStore(fixture, (http) => ROUTES.access.send(http, token), code);
  });

  it.each<[string, JsonObject]>([
    ['exp = now + 1', { exp: 1 }],
    ['nbf = now', { nbf: 0 }],
    ['iat = now', { iat: 0 }],
  ])('access: %s is accepted', async (_name, offsets) => {
    const changes = Object.fromEntries(Object.entries(offsets).map(([claim, offset]) => [claim, now() + Number(offset)]));
    await expectAccepted(fixture, 'access', realSigned('access', await claimsWith(fixture, 'access', changes)));
  });

  it('the boundary holds within a second: at now + 0.999 s, exp = now is still refused and exp = now + 1 accepted', async () => {
    const second = now();
    fixture.clock.advance(0.999);
    expect(now()).toBe(second);
    const refused = realSigned('access', await claimsWith(fixture, 'access', { exp: second }));
    await expectRefusedWithoutStore(fixture, (http) => ROUTES.access.send(http, refused), EXPIRED);
    await expectAccepted(fixture, 'access', realSigned('access', await claimsWith(fixture, 'access', { exp: second + 1 })));
    fixture.clock.advance(0.001);
    expect(now()).toBe(second + 1);
    const nowExpired = realSigned('access', await claimsWith(fixture, 'access', { exp: second + 1 }));
    await expectRefusedWithoutStore(fixture, (http) => ROUTES.access.send(http, nowExpired), EXPIRED);
  });
});
