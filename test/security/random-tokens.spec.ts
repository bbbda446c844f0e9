/**
 * 10 000 random refresh tokens: random bytes in three base64url segments, random printable strings, and
 * JWT-looking strings with a valid JSON header {"alg":"HS256","typ":"rt+jwt"} and a random payload (some naming a
 * live session) and a random signature, of random lengths up to 9 000 characters. Every one is refused with 401,
 * and the store is never asked anything: not a lookup, not a write.
 *
 * All of them go through the guard's path in process (SessionService.authorizeRefresh, and the two access
 * authorizers for good measure); 1 500 of them also go over HTTP to every header-transport refresh route.
 * The PRNG is seeded (SECURITY_SEED replays another seed); the seed is in the test names.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { UnauthorizedError } from '../../lib/index.js';
import { decodePayload } from '../e2e/support/sample-app.js';
import {
  BASE64URL, PRINTABLE, Rng, TOKEN_ROUTES, expectNoStoreCall, inPool, label, loginSinatraSession, loginWithCookies, routeRequest,
  seedOf, send, signHs256, useHttpSample, type SessionCredentials,
} from './support/http-fixture.js';

const SEED = seedOf(0x7a11c0de);
const TOTAL = 10_000;
const OVER_HTTP = 1_500;
const MAX_LENGTH = 9_000;

type Kind = 'bytes' | 'printable' | 'jwt-like';

/** Every route that takes a refresh token from the X-Refresh-Token header. */
const REFRESH_HEADER_ROUTES = TOKEN_ROUTES.filter((route) => route.guarded && route.token === 'refresh' && route.transports.includes('header'));

const HEADER_TEXT = JSON.stringify({ alg: 'HS256', typ: 'rt+jwt' });
const HEADER_SEGMENT = Buffer.from(HEADER_TEXT).toString('base64url');

/** A random token of a length in [0, MAX_LENGTH]. */
function randomToken(rng: Rng, kind: Kind, live: SessionCredentials[]): string {
  const length = rng.int(0, MAX_LENGTH);
  switch (kind) {
    case 'bytes': {
      // Random bytes, base64url, cut in three segments (two dots at random places).
      const body = rng.bytes(Math.ceil((length * 3) / 4)).toString('base64url').slice(0, length);
      if (body.length < 3) return body;
      const [a, b] = [rng.int(1, body.length - 2), rng.int(1, body.length - 2)].sort((x, y) => x - y);
      return `${body.slice(0, a)}.${body.slice(a, b === a ? a + 1 : b)}.${body.slice(b === a ? a + 1 : b)}`;
    }
    case 'printable':
      return rng.string(length, PRINTABLE);
    case 'jwt-like': {
      const signature = rng.chance(0.5)
        ? rng.bytes(32).toString('base64url')
        : rng.string(rng.int(1, 400), BASE64URL);
      const room = Math.max(1, length - HEADER_SEGMENT.length - signature.length - 2);
      const style = rng.int(0, 3);
      let payload: string;
      if (style === 0) {
        // Random bytes as the payload.
        payload = rng.bytes(Math.ceil((room * 3) / 4)).toString('base64url').slice(0, room) || 'e30';
      } else if (style === 1) {
        // A JSON payload naming a live session, padded to the length.
        const session = rng.pick(live);
        const claims = { ...decodePayload(session.refresh), pad: rng.string(Math.max(0, Math.floor((room * 3) / 4) - 120), BASE64URL) };
        payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
      } else if (style === 2) {
        // A live session's own payload segment: only the signature is wrong.
        payload = rng.pick(live).refresh.split('.')[1];
      } else {
        // Random claims.
        const claims: Record<string, unknown> = {};
        for (let i = rng.int(0, 8); i > 0; i--) claims[rng.string(rng.int(1, 8), BASE64URL)] = rng.pick([rng.int(-1e9, 1e10), rng.string(rng.int(0, 40), PRINTABLE), null, true, [], {}]);
        claims.pad = rng.string(Math.max(0, Math.floor((room * 3) / 4) - JSON.stringify(claims).length), PRINTABLE);
        payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
      }
      return `${HEADER_SEGMENT}.${payload}.${signature}`;
    }
  }
}

describe('random refresh tokens', () => {
  const sample = useHttpSample();
  const tokens: Array<{ kind: Kind; token: string }> = [];
  let live: SessionCredentials[];

  beforeAll(async () => {
    live = [await loginWithCookies(sample), await loginSinatraSession(sample), await loginSinatraSession(sample)];
    const rng = new Rng(SEED);
    const kinds: Kind[] = ['bytes', 'printable', 'jwt-like'];
    for (let i = 0; i < TOTAL; i++) {
      const kind = kinds[i % kinds.length];
      tokens.push({ kind, token: randomToken(rng, kind, live) });
    }
  }, 30_000);

  it(`the mixture is as described (seed ${SEED})`, () => {
    expect(tokens).toHaveLength(TOTAL);
    const lengths = tokens.map(({ token }) => token.length);
    expect(Math.max(...lengths)).toBeLessThanOrEqual(MAX_LENGTH + 400);
    expect(lengths.filter((length) => length > sample.maxTokenLength).length).toBeGreaterThan(100);
    expect(lengths.filter((length) => length < 100).length).toBeGreaterThan(10);
    // The JWT-looking ones are signed JWS in shape, with our header: they reach signature verification.
    const jwtLike = tokens.filter(({ kind }) => kind === 'jwt-like');
    expect(jwtLike.every(({ token }) => /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token))).toBe(true);
    expect(jwtLike.filter(({ token }) => token.length <= sample.maxTokenLength).length).toBeGreaterThan(2500);
    // None is a live token.
    const real = new Set(live.flatMap((session) => [session.access, session.refresh]));
    expect(tokens.some(({ token }) => real.has(token))).toBe(false);
  });

  it(`${TOTAL} tokens through the guard's path in process: all 401, no store call (seed ${SEED})`, async () => {
    sample.spy.reset();
    const failures: string[] = [];
    const authorizers = [
      ['authorizeRefresh', (token: string) => sample.sessions.authorizeRefresh(token)],
      ['authorizeRefreshByAccess', (token: string) => sample.sessions.authorizeRefreshByAccess(token)],
      ['authorizeAccess', (token: string) => sample.sessions.authorizeAccess(token)],
    ] as const;
    for (const [index, { kind, token }] of tokens.entries()) {
      for (const [name, authorize] of authorizers) {
        // One at a time, awaited: a rejection is never left unhandled.
        const error = await authorize(token).then(() => null, (caught: unknown) => caught);
        if (!(error instanceof UnauthorizedError) || error.getStatus() !== 401) {
          failures.push(`#${index} ${kind} (${token.length} chars) ${name}: ${error === null ? 'authorized' : String(error)}`);
        }
      }
    }
    expect(failures.slice(0, 20)).toEqual([]);
    expectNoStoreCall(sample.spy);
  }, 60_000);

  it(`${OVER_HTTP} of them over HTTP to ${REFRESH_HEADER_ROUTES.map(label).join(', ')}: all 401, no store call (seed ${SEED})`, async () => {
    const rng = new Rng(SEED ^ 0x5a5a5a5a);
    const picks = Array.from({ length: OVER_HTTP }, (_, i) => ({
      ...tokens[Math.floor((i * TOTAL) / OVER_HTTP)],
      index: Math.floor((i * TOTAL) / OVER_HTTP),
      route: REFRESH_HEADER_ROUTES[i % REFRESH_HEADER_ROUTES.length],
      scheme: rng.pick(['Bearer ', 'bearer ', '']),
    }));
    sample.spy.reset();
    const answers = await inPool(picks.length, 8, (i) => send(sample, routeRequest(picks[i].route, { refreshHeader: `${picks[i].scheme}${picks[i].token}` })));
    const failures = answers.flatMap((answer, i) => {
      const error = (answer.body as { error?: unknown } | undefined)?.error;
      return answer.status === 401 && error === 'Unauthorized' && answer.headers['set-cookie'] === undefined
        ? []
        : [`#${picks[i].index} ${picks[i].kind} (${picks[i].token.length} chars) ${label(picks[i].route)}: ${answer.status} ${JSON.stringify(answer.body)}`];
    });
    expect(failures.slice(0, 20)).toEqual([]);
    expectNoStoreCall(sample.spy);
  }, 60_000);

  it('the live sessions are untouched: each still refreshes over HTTP', async () => {
    for (const session of live) {
      const answer = await send(sample, routeRequest(REFRESH_HEADER_ROUTES[0], { refreshHeader: session.refresh }));
      expect(answer.status).toBe(200);
    }
  });

  it('a token signed with the sample\'s own key, same header, does pass (the JWT-looking ones fail on their signature alone)', async () => {
    const claims = decodePayload(live[1].refresh);
    const genuine = signHs256(HEADER_TEXT, JSON.stringify(claims));
    await expect(sample.sessions.authorizeRefresh(genuine)).resolves.toMatchObject({ payload: { uid: claims.uid } });
  });
});
