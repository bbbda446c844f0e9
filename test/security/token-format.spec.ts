import { jest } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { exportJWK, SignJWT } from 'jose';
import { UnauthorizedError } from '../../lib/index.js';
import { readCompactJws } from '../../lib/tokens/compact-jws.js';
import { setup, TEST_SIGNING_KEY } from '../support/setup.js';

/**
 * Hostile token shapes are refused with 401 before the store is asked, and those that need no crypto to spot are
 * refused before any (a forged header is never parsed for keys).
 */
const key = new TextEncoder().encode(TEST_SIGNING_KEY);
const b64 = (value: string | Buffer) => Buffer.from(value).toString('base64url');

describe('hostile token formats', () => {
  let ctx: Awaited<ReturnType<typeof setup>>;
  let find: ReturnType<typeof jest.spyOn>;
  let now: number;

  beforeEach(async () => {
    ctx = await setup();
    now = Math.floor(ctx.clock.now() / 1000);
    find = jest.spyOn(ctx.store, 'find');
  });

  afterEach(() => find.mockRestore());

  async function signed(header: Record<string, unknown>, payload: Record<string, unknown>): Promise<string> {
    return new SignJWT({ uid: 'u', ruid: 'r', iat: now, exp: now + 60, ...payload })
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', ...header } as { alg: string })
      .sign(key);
  }

  async function expectRefused(token: string): Promise<void> {
    // One at a time: a second promise rejecting before it is awaited would count as an unhandled rejection.
    for (const attempt of [() => ctx.sessions.authorizeAccess(token), () => ctx.sessions.authorizeRefreshByAccess(token)]) {
      const error = await attempt().then(() => null, (caught: unknown) => caught);
      expect(error).toBeInstanceOf(UnauthorizedError);
      expect((error as UnauthorizedError).getStatus()).toBe(401);
    }
    expect(find).not.toHaveBeenCalled();
  }

  it('refuses an unencoded-payload header (b64), with or without crit', async () => {
    const header = b64(JSON.stringify({ alg: 'HS256', typ: 'at+jwt', b64: true }));
    const payload = b64(JSON.stringify({ uid: 'u', ruid: 'r', exp: now + 60 }));
    await expectRefused(`${header}.${payload}.${b64('x'.repeat(32))}`);
    // jose itself signs a b64 header only together with crit.
    await expectRefused(await signed({ b64: true, crit: ['b64'] }, {}));
  });

  it('refuses any crit header, even one listing a registered claim', async () => {
    const header = b64(JSON.stringify({ alg: 'HS256', typ: 'at+jwt', crit: ['exp'], exp: 1 }));
    await expectRefused(`${header}.${b64('{}')}.${b64('sig')}`);
  });

  it.each([
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])],
    ['a JSON array', Buffer.from('[]')],
    ['a JSON string', Buffer.from('"HS256"')],
    ['not JSON', Buffer.from('alg=HS256')],
    ['null', Buffer.from('null')],
  ])('refuses a header that is %s, before any crypto', async (_name, header) => {
    await expectRefused(`${b64(header)}.${b64('{"uid":"u","ruid":"r"}')}.${b64('sig')}`);
  });

  it('refuses JWE and JSON serializations without doing crypto work', async () => {
    const genuine = (await ctx.sessions.login({})).access;
    const [header, payload, signature] = genuine.split('.');
    await expectRefused(`${header}.${b64('key')}.${b64('iv')}.${payload}.${signature}`);
    await expectRefused(JSON.stringify({ protected: header, payload, signature }));
  });

  it('never takes a key from the token: an embedded jwk signed by its own private key is refused', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = await exportJWK(publicKey);
    const forged = await new SignJWT({ uid: 'u', ruid: 'r', iat: now, exp: now + 60 })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', jwk, jku: 'http://127.0.0.1:9/keys', x5u: 'http://127.0.0.1:9/x5u' })
      .sign(privateKey);
    await expectRefused(forged);
  });

  it('refuses a token issued in the future beyond the leeway, also when its expiry is waived', async () => {
    await expectRefused(await signed({}, { iat: now + 5 }));
    const leeway = await setup({ verify: { leeway: 10 } });
    const lenient = Math.floor(leeway.clock.now() / 1000);
    const soon = await new SignJWT({ uid: 'u', ruid: 'r', iat: lenient + 5, exp: lenient + 60 }).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' }).sign(key);
    // Within the leeway the signature and claims pass; the session lookup then refuses the unknown uid.
    await expect(leeway.sessions.authorizeAccess(soon)).rejects.toThrow('Access token not found');
    const expiredFuture = await new SignJWT({ uid: 'u', ruid: 'r', iat: now + 3600, exp: now - 10 }).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' }).sign(key);
    await expectRefused(expiredFuture);
  });

  it('refuses a non-numeric iat', async () => {
    await expectRefused(await signed({}, { iat: 'yesterday' }));
  });

  describe('the pre-crypto check alone (synchronous: it does no crypto and asks no store)', () => {
    const body = `${b64('{"uid":"u"}')}.${b64('sig')}`;
    it.each([
      ['crit', b64(JSON.stringify({ alg: 'HS256', crit: ['exp'] }))],
      ['b64', b64(JSON.stringify({ alg: 'HS256', b64: false }))],
      ['invalid UTF-8', b64(Buffer.from([0x7b, 0xff, 0x7d]))],
      ['an array', b64('[]')],
      ['not JSON', b64('alg')],
    ])('throws UnauthorizedError for a header with %s', (_name, header) => {
      expect(() => readCompactJws(`${header}.${body}`, 8192)).toThrow(UnauthorizedError);
    });

    it('passes a well-formed header, and refuses by length before reading anything', () => {
      const header = b64(JSON.stringify({ alg: 'HS256', typ: 'at+jwt', kid: '../../etc/passwd' }));
      expect(() => readCompactJws(`${header}.${body}`, 8192)).not.toThrow();
      expect(() => readCompactJws(`${header}.${body}`, 20)).toThrow('Malformed token');
      expect(() => readCompactJws(42, 8192)).toThrow('Malformed token');
    });
  });
});
