/**
 * Key and algorithm confusion over HTTP: HMAC with a public key, algorithms of the configured family that are not
 * the configured one, keys carried in the token header, ECDSA signatures of zero ("psychic signatures"), and weak
 * HMAC secrets at bootstrap. Every hostile request is answered 401 before the store is asked anything.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http, { type Server } from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK } from 'jose';
import { MalconfiguredError, type JwtSessionsModuleOptions } from '../../lib/index.js';
import { b64u, hmacToken, joseToken, payloadSegment, rsaKeyPairs, withSignature, type HmacAlgorithm } from './support/forge.js';
import {
  bootSecurityApp, claimsFor, expectRefusedWithoutStore, ROUTE_NAMES, ROUTES, SECURITY_HS256_KEY, useSecurityApp,
  type HttpLogin, type JsonObject, type RouteName, type SecurityApp,
} from './support/security-app.js';

function genuine(route: RouteName, login: HttpLogin): string {
  return route === 'refresh' ? login.tokens.refresh : login.tokens.access;
}

async function expectGenuineAccepted(fixture: SecurityApp): Promise<void> {
  for (const route of ROUTE_NAMES) {
    const login = await fixture.login();
    const response = await ROUTES[route].send(fixture.http(), genuine(route, login));
    expect({ route, status: response.status }).toEqual({ route, status: 200 });
  }
}

/** The configured key pairs, generated once for the file. */
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rs256 = (): JwtSessionsModuleOptions => ({ algorithm: 'RS256', privateKey: rsaKeyPairs().server.privateKey });

describe('3. HMAC signed with the RS256 public key (key confusion)', () => {
  const fixture = useSecurityApp(rs256);

  it('control: genuine RS256 tokens pass every route', () => expectGenuineAccepted(fixture));

  const publicKey = (): KeyObject => rsaKeyPairs().server.publicKey;
  const keyForms: Array<[string, () => string | Uint8Array]> = [
    ['the SPKI PEM', () => publicKey().export({ type: 'spki', format: 'pem' })],
    ['the PKCS#1 PEM', () => publicKey().export({ type: 'pkcs1', format: 'pem' })],
  ];
  const cases = ROUTE_NAMES.flatMap((route) => (['HS256', 'RS256'] as const).flatMap((alg) =>
    keyForms.map(([form, key]) => [route, alg, form, key] as const)));

  it.each(cases)('%s: header alg %s, HMAC-SHA256 keyed with %s bytes, is refused', async (route, alg, _form, key) => {
    const login = await fixture.login();
    const token = hmacToken('HS256', key(), { alg, typ: ROUTES[route].typ }, claimsFor(route, login));
    await expectRefusedWithoutStore(fixture, (http) => ROUTES[route].send(http, token));
  });

  it.each<[string, HmacAlgorithm, () => string | Uint8Array]>([
    ['the SPKI PEM without its final newline', 'HS256', () => String(publicKey().export({ type: 'spki', format: 'pem' })).trimEnd()],
    ['the SPKI DER', 'HS256', () => publicKey().export({ type: 'spki', format: 'der' })],
    ['the public JWK as JSON', 'HS256', () => JSON.stringify(publicKey().export({ format: 'jwk' }))],
    ['the SPKI PEM, under HS512', 'HS512', () => publicKey().export({ type: 'spki', format: 'pem' })],
  ])('access: HMAC keyed with %s is refused', async (_form, hash, key) => {
    const login = await fixture.login();
    const token = hmacToken(hash, key(), { alg: hash, typ: 'at+jwt' }, login.accessClaims);
    await expectRefusedWithoutStore(fixture, (http) => ROUTES.access.send(http, token));
  });
});

describe('4. an algorithm of the family that is not the configured one', () => {
  describe('HS256 configured', () => {
    const fixture = useSecurityApp({ signingKey: SECURITY_HS256_KEY });

    it('control: genuine tokens pass every route', () => expectGenuineAccepted(fixture));

    const cases = ROUTE_NAMES.flatMap((route) => (['HS384', 'HS512'] as const).map((alg) => [route, alg] as const));
    it.each(cases)('%s: a token signed %s with the same secret is refused', async (route, alg) => {
      const login = await fixture.login();
      const token = hmacToken(alg, SECURITY_HS256_KEY, { alg, typ: ROUTES[route].typ }, claimsFor(route, login));
      await expectRefusedWithoutStore(fixture, (http) => ROUTES[route].send(http, token));
    });

    it.each(ROUTE_NAMES)('%s: a token signed HS384 with the same secret but labelled HS256 is refused', async (route) => {
      const login = await fixture.login();
      const token = hmacToken('HS384', SECURITY_HS256_KEY, { alg: 'HS256', typ: ROUTES[route].typ }, claimsFor(route, login));
      await expectRefusedWithoutStore(fixture, (http) => ROUTES[route].send(http, token));
    });
  });

  describe('RS256 configured', () => {
    const fixture = useSecurityApp(rs256);

    it('control: a token signed by hand RS256 with the server key passes every route', async () => {
      for (const route of ROUTE_NAMES) {
        const login = await fixture.login();
        const token = await joseToken({ alg: 'RS256', typ: ROUTES[route].typ }, claimsFor(route, login), rsaKeyPairs().server.privateKey);
        expect({ route, status: (await ROUTES[route].send(fixture.http(), token)).status }).toEqual({ route, status: 200 });
      }
    });

    const cases = ROUTE_NAMES.flatMap((route) => (['PS256', 'RS512', 'RS384', 'PS512'] as const).map((alg) => [route, alg] as const));
    it.each(cases)('%s: a token signed %s with the server\'s own private key is refused', async (route, alg) => {
      const login = await fixture.login();
      const token = await joseToken({ alg, typ: ROUTES[route].typ }, claimsFor(route, login), rsaKeyPairs().server.privateKey);
      await expectRefusedWithoutStore(fixture, (http) => ROUTES[route].send(http, token));
    });

    it.each(ROUTE_NAMES)('%s: a PS256 signature by the server key under an RS256 header is refused', async (route) => {
      const login = await fixture.login();
      const ps256 = await joseToken({ alg: 'PS256', typ: ROUTES[route].typ }, claimsFor(route, login), rsaKeyPairs().server.privateKey);
      const [, payload, signature] = ps256.split('.');
      const token = `${b64u({ alg: 'RS256', typ: ROUTES[route].typ })}.${payload}.${signature}`;
      await expectRefusedWithoutStore(fixture, (http) => ROUTES[route].send(http, token));
    });
  });

  describe('ES256 configured', () => {
    const fixture = useSecurityApp({ algorithm: 'ES256', privateKey: ec.privateKey });
    const ed25519 = generateKeyPairSync('ed25519');
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });

    it('control: genuine ES256 tokens pass every route', () => expectGenuineAccepted(fixture));

    const signers: Array<[string, string, KeyObject]> = [
      ['EdDSA with an Ed25519 key', 'EdDSA', ed25519.privateKey],
      ['Ed25519 with an Ed25519 key', 'Ed25519', ed25519.privateKey],
      ['ES384 with a P-384 key', 'ES384', p384.privateKey],
    ];
    const cases = ROUTE_NAMES.flatMap((route) => signers.map(([name, alg, key]) => [route, name, alg, key] as const));
    it.each(cases)('%s: a token signed %s is refused', async (route, _name, alg, key) => {
      const login = await fixture.login();
      const token = await joseToken({ alg, typ: ROUTES[route].typ }, claimsFor(route, login), key);
      await expectRefusedWithoutStore(fixture, (http) => ROUTES[route].send(http, token));
    });

    it.each(ROUTE_NAMES)('%s: HS256 keyed with the ES256 public key PEM is refused', async (route) => {
      const login = await fixture.login();
      const pem = ec.publicKey.export({ type: 'spki', format: 'pem' });
      const token = hmacToken('HS256', pem, { alg: 'HS256', typ: ROUTES[route].typ }, claimsFor(route, login));
      await expectRefusedWithoutStore(fixture, (http) => ROUTES[route].send(http, token));
    });
  });
});

describe('5. weak, empty or missing HMAC secrets fail the app\'s start', () => {
  async function startError(options: JwtSessionsModuleOptions): Promise<unknown> {
    return bootSecurityApp(options).then(async (app) => { await app.close(); return null; }, (caught: unknown) => caught);
  }

  it.each<[string, JwtSessionsModuleOptions, RegExp]>([
    ['a 31-byte HS256 secret', { signingKey: 'x'.repeat(31) }, /signingKey is too short for HS256: 31 bytes, at least 32/],
    ['a one-character secret', { signingKey: 'k' }, /signingKey is too short for HS256/],
    ['an empty string', { signingKey: '' }, /signingKey is required for HS256/],
    ['no key at all', {}, /signingKey is required for HS256/],
    ['empty bytes', { signingKey: new Uint8Array(0) }, /signingKey is too short for HS256: 0 bytes/],
    ['an empty oct JWK', { signingKey: { kty: 'oct', k: '' } }, /signingKey/],
    ['a 47-byte HS384 secret', { algorithm: 'HS384', signingKey: 'x'.repeat(47) }, /signingKey is too short for HS384: 47 bytes, at least 48/],
    ['a 63-byte HS512 secret', { algorithm: 'HS512', signingKey: 'x'.repeat(63) }, /signingKey is too short for HS512: 63 bytes, at least 64/],
    ['a 32-byte secret for HS512', { algorithm: 'HS512', signingKey: SECURITY_HS256_KEY }, /signingKey is too short for HS512/],
  ])('%s: MalconfiguredError naming signingKey', async (_name, options, message) => {
    const error = await startError(options);
    expect(error).toBeInstanceOf(MalconfiguredError);
    expect((error as MalconfiguredError).code).toBe('ERR_JWT_SESSIONS_MALCONFIGURED');
    expect((error as MalconfiguredError).message).toMatch(message);
  });

  it('a 1024-bit RSA key for RS256: MalconfiguredError naming privateKey', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const error = await startError({ algorithm: 'RS256', privateKey });
    expect(error).toBeInstanceOf(MalconfiguredError);
    expect((error as MalconfiguredError).message).toMatch(/privateKey is a 1024-bit RSA key/);
  });
});

describe('6. key material embedded in the token header is never used nor fetched', () => {
  /** A server an attacker controls: serves its JWKS and certificate, and counts every request. */
  let attackerServer: Server;
  let attackerHits: string[];
  let attackerUrl: string;
  const attacker = () => rsaKeyPairs().attacker;

  beforeAll(async () => {
    attackerHits = [];
    attackerServer = http.createServer((request, response) => {
      attackerHits.push(`${request.method} ${request.url}`);
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ keys: [{ ...attacker().publicKey.export({ format: 'jwk' }), alg: 'RS256', use: 'sig' }] }));
    });
    await new Promise<void>((resolve) => attackerServer.listen(0, '127.0.0.1', resolve));
    const address = attackerServer.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    attackerUrl = `http://127.0.0.1:${address.port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => attackerServer.close(() => resolve()));
  });

  /** Spies on every way the process could reach the network; answers what of it went to the attacker. */
  const spies: Array<ReturnType<typeof jest.spyOn>> = [];
  function spyOnNetwork(): () => { fetch: unknown[][]; node: unknown[][]; hits: string[]; supertestSeen: boolean } {
    const fetchSpy = jest.spyOn(globalThis, 'fetch');
    const nodeSpies = [jest.spyOn(http, 'request'), jest.spyOn(http, 'get'), jest.spyOn(https, 'request'), jest.spyOn(https, 'get')];
    spies.push(fetchSpy, ...nodeSpies);
    return () => {
      // Supertest itself goes through http.request to reach the app: only calls aimed at the attacker count.
      const port = new URL(attackerUrl).port;
      const aimedAtAttacker = (args: unknown[]) => args.some((arg) => {
        const text = arg instanceof URL ? arg.href : typeof arg === 'string' ? arg : JSON.stringify(arg ?? null, (_k, v) => (typeof v === 'function' ? undefined : v));
        return text.includes(`:${port}`) || text.includes(`"port":${port}`) || text.includes(`"port":"${port}"`) || text.includes('attacker.invalid');
      });
      return {
        fetch: fetchSpy.mock.calls as unknown[][],
        node: nodeSpies.flatMap((spy) => (spy.mock.calls as unknown[][]).filter(aimedAtAttacker)),
        hits: [...attackerHits],
        supertestSeen: nodeSpies[0].mock.calls.length > 0,
      };
    };
  }

  /** Nothing reached the attacker, while the spies did see supertest's own request (so they were live). */
  function expectNothingFetched(contacts: ReturnType<ReturnType<typeof spyOnNetwork>>): void {
    expect({ fetch: contacts.fetch, node: contacts.node, hits: contacts.hits }).toEqual({ fetch: [], node: [], hits: [] });
    expect(contacts.supertestSeen).toBe(true);
  }

  it('control: the spies and the attacker server do see a fetch and an http.get aimed at the attacker', async () => {
    const contacts = spyOnNetwork();
    await (await fetch(`${attackerUrl}/jwks.json`)).text();
    await new Promise<void>((resolve, reject) => http.get(`${attackerUrl}/cert.pem`, (response) => response.resume().on('end', resolve)).on('error', reject));
    const seen = contacts();
    expect(seen.fetch).toHaveLength(1);
    expect(seen.node.length).toBeGreaterThanOrEqual(1);
    expect(seen.hits).toEqual(['GET /jwks.json', 'GET /cert.pem']);
    attackerHits.length = 0;
  });

  afterEach(() => {
    spies.splice(0).forEach((spy) => spy.mockRestore());
  });

  /** A self-signed certificate of the attacker key (DER), by openssl when present, else the bare SPKI DER. */
  function attackerCertificate(): string {
    const dir = mkdtempSync(join(tmpdir(), 'x5c-'));
    try {
      const keyFile = join(dir, 'key.pem');
      writeFileSync(keyFile, attacker().privateKey.export({ type: 'pkcs8', format: 'pem' }));
      return execFileSync('openssl', ['req', '-new', '-x509', '-key', keyFile, '-subj', '/CN=attacker', '-days', '1', '-outform', 'DER'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString('base64');
    } catch {
      return attacker().publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  describe('RS256 configured', () => {
    const fixture = useSecurityApp(rs256);
    let x5c: string;
    beforeAll(() => {
      x5c = attackerCertificate();
    });

    it('control: genuine tokens pass every route', () => expectGenuineAccepted(fixture));

    const headers: Array<[string, () => Promise<JsonObject>]> = [
      ['jwk (the attacker\'s public key)', async () => ({ jwk: await exportJWK(attacker().publicKey) })],
      ['jku (the attacker\'s JWKS URL)', async () => ({ jku: `${attackerUrl}/jwks.json` })],
      ['x5u (the attacker\'s certificate URL)', async () => ({ x5u: `${attackerUrl}/cert.pem` })],
      ['x5c (the attacker\'s self-signed certificate)', async () => ({ x5c: [x5c] })],
      ['jwk, jku, x5u, x5c and an https jku at once', async () => ({
        jwk: await exportJWK(attacker().publicKey), jku: `${attackerUrl}/jwks.json`, x5u: 'https://attacker.invalid/x5u', x5c: [x5c],
      })],
    ];
    const cases = ROUTE_NAMES.flatMap((route) => headers.map(([name, header]) => [route, name, header] as const));

    it.each(cases)('%s: an RS256 token signed by the attacker\'s key with %s is refused, and nothing is fetched', async (route, _name, header) => {
      const login = await fixture.login();
      const contacts = spyOnNetwork();
      const token = await joseToken({ alg: 'RS256', typ: ROUTES[route].typ, ...(await header()) }, claimsFor(route, login), attacker().privateKey);
      await expectRefusedWithoutStore(fixture, (http) => ROUTES[route].send(http, token));
      expectNothingFetched(contacts());
    });
  });

  describe('HS256 configured', () => {
    const fixture = useSecurityApp({ signingKey: SECURITY_HS256_KEY });
    const attackerSecret = 'attacker-secret-0123456789abcdef';

    it.each(ROUTE_NAMES)('%s: an HS256 token with an oct jwk of the attacker\'s secret, signed with it, is refused', async (route) => {
      const login = await fixture.login();
      const contacts = spyOnNetwork();
      const jwk = { kty: 'oct', k: b64u(attackerSecret) };
      const token = hmacToken('HS256', attackerSecret, { alg: 'HS256', typ: ROUTES[route].typ, jwk, jku: `${attackerUrl}/jwks.json` }, claimsFor(route, login));
      await expectRefusedWithoutStore(fixture, (http) => ROUTES[route].send(http, token));
      expectNothingFetched(contacts());
    });
  });
});

describe('8. ECDSA signatures of zero and of the curve order ("psychic signatures"), ES256 configured', () => {
  const fixture = useSecurityApp({ algorithm: 'ES256', privateKey: ec.privateKey });
  /** The order n of P-256. */
  const N = Buffer.from('FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551', 'hex');

  /** DER of an ECDSA signature (r, s), as OpenSSL writes it; JWS wants the raw 64 bytes instead. */
  function der(r: Buffer, s: Buffer): Buffer {
    const integer = (value: Buffer) => {
      let bytes = value;
      while (bytes.length > 1 && bytes[0] === 0) bytes = bytes.subarray(1);
      if (bytes[0] & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
      return Buffer.concat([Buffer.from([0x02, bytes.length]), bytes]);
    };
    const body = Buffer.concat([integer(r), integer(s)]);
    return Buffer.concat([Buffer.from([0x30, body.length]), body]);
  }

  it('control: genuine ES256 tokens pass every route', () => expectGenuineAccepted(fixture));

  const zero = Buffer.alloc(32);
  const signatures: Array<[string, (real: Buffer) => Buffer]> = [
    ['r = 0, s = 0 (64 zero bytes)', () => Buffer.alloc(64)],
    ['r = 0, s = 0 in DER', () => der(zero, zero)],
    ['r = s = n (the curve order)', () => Buffer.concat([N, N])],
    ['r = s = n in DER', () => der(N, N)],
    ['r = 0 with the genuine s', (real) => Buffer.concat([zero, real.subarray(32)])],
    ['the genuine r with s = 0', (real) => Buffer.concat([real.subarray(0, 32), zero])],
    ['the genuine signature in DER', (real) => der(real.subarray(0, 32), real.subarray(32))],
    ['the genuine signature with a zero byte appended', (real) => Buffer.concat([real, Buffer.alloc(1)])],
  ];
  const cases = ROUTE_NAMES.flatMap((route) => signatures.map(([name, make]) => [route, name, make] as const));

  it.each(cases)('%s: a signature of %s is refused', async (route, _name, make) => {
    const login = await fixture.login();
    const token = genuine(route, login);
    const real = Buffer.from(token.split('.')[2], 'base64url');
    expect(real).toHaveLength(64);
    await expectRefusedWithoutStore(fixture, (http) => ROUTES[route].send(http, withSignature(token, b64u(make(real)))));
  });

  it.each(ROUTE_NAMES)('%s: a forged payload (user_id 2, role admin) with r = s = 0 is refused', async (route) => {
    const login = await fixture.login();
    const claims = { ...claimsFor(route, login), user_id: 2, role: 'admin' };
    const token = `${b64u({ alg: 'ES256', typ: ROUTES[route].typ })}.${payloadSegment(claims)}.${b64u(Buffer.alloc(64))}`;
    await expectRefusedWithoutStore(fixture, (http) => ROUTES[route].send(http, token));
  });
});
