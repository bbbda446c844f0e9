import { jest } from '@jest/globals';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import { MalconfiguredError, UnauthorizedError, type JwtSessionsModuleOptions, type SigningKeyOptions } from '../../lib/index.js';
import { MemoryTokenStore } from '../../lib/store/memory-token.store.js';
import { ManualClock } from '../support/manual-clock.js';
import { setup, TEST_SIGNING_KEY } from '../support/setup.js';

/**
 * A keyring: the first key signs and names itself in `kid`; every configured key verifies its own tokens, so a
 * key rotation logs nobody out. A `kid` only ever selects among configured keys.
 */
const OLD_SECRET = 'old-signing-key-0123456789abcdef-0';
const NEW_SECRET = 'new-signing-key-0123456789abcdef-1';
const ed = generateKeyPairSync('ed25519');
const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });

/** No `signingKey` from setup()'s defaults: a keyring replaces it. */
const ring = (keys: SigningKeyOptions[], extra: JwtSessionsModuleOptions = {}): JwtSessionsModuleOptions =>
  ({ signingKey: undefined, keys, ...extra });

const header = (token: string) => decodeProtectedHeader(token);

describe('keyring', () => {
  it('signs with the first key and names it in kid', async () => {
    const ctx = await setup(ring([{ kid: 'new', signingKey: NEW_SECRET }, { kid: 'old', signingKey: OLD_SECRET }]));
    const tokens = await ctx.sessions.login({ payload: { user_id: 1 } });
    expect(header(tokens.access)).toMatchObject({ alg: 'HS256', kid: 'new', typ: 'at+jwt' });
    expect(header(tokens.refresh)).toMatchObject({ alg: 'HS256', kid: 'new', typ: 'rt+jwt' });
    await ctx.close();
  });

  it('keeps sessions of the old key alive across a rotation, and signs their next tokens with the new key', async () => {
    const store = new MemoryTokenStore();
    const clock = new ManualClock();
    const before = await setup(ring([{ kid: 'old', signingKey: OLD_SECRET }], { store }), clock);
    const tokens = await before.sessions.login({ payload: { user_id: 7 } });
    await before.close();

    const after = await setup(ring([{ kid: 'new', signingKey: NEW_SECRET }, { kid: 'old', signingKey: OLD_SECRET }], { store }), clock);
    await expect(after.sessions.authorizeAccess(tokens.access)).resolves.toMatchObject({ payload: { user_id: 7 } });
    clock.advance(3601);
    const refreshed = await after.sessions.refresh(tokens.refresh, { payload: { user_id: 7 } });
    expect(header(refreshed.access).kid).toBe('new');
    await expect(after.sessions.authorizeAccess(refreshed.access)).resolves.toMatchObject({ payload: { user_id: 7 } });
    await after.close();

    // Once the old key is dropped, its tokens are refused.
    const dropped = await setup(ring([{ kid: 'new', signingKey: NEW_SECRET }], { store }), clock);
    await expect(dropped.sessions.authorizeRefresh(tokens.refresh)).rejects.toThrow(UnauthorizedError);
    await dropped.close();
  });

  it('moves from a single key to a keyring: the kid-less key verifies the tokens signed before', async () => {
    const store = new MemoryTokenStore();
    const clock = new ManualClock();
    const before = await setup({ signingKey: OLD_SECRET, store }, clock);
    const tokens = await before.sessions.login({});
    expect(header(tokens.access).kid).toBeUndefined();
    await before.close();

    const after = await setup(ring([{ kid: 'new', signingKey: NEW_SECRET }, { signingKey: OLD_SECRET }], { store }), clock);
    await expect(after.sessions.authorizeAccess(tokens.access)).resolves.toBeDefined();
    await after.close();
  });

  describe('a kid selects among configured keys, nothing else, and never reaches the store', () => {
    let ctx: Awaited<ReturnType<typeof setup>>;
    let storeCalls: ReturnType<typeof jest.spyOn>[];
    const secret = new TextEncoder().encode(NEW_SECRET);
    const now = () => Math.floor(ctx.clock.now() / 1000);

    beforeAll(async () => {
      ctx = await setup(ring([
        { kid: 'new', signingKey: NEW_SECRET },
        { kid: 'ed', algorithm: 'EdDSA', publicKey: ed.publicKey },
      ], { maxTokenLength: 65536 }));
    });
    afterAll(() => ctx.close());
    beforeEach(() => {
      storeCalls = (['find', 'create', 'relink', 'delete', 'list'] as const).map((method) => jest.spyOn(ctx.store, method));
    });
    afterEach(() => storeCalls.forEach((spy) => spy.mockRestore()));

    const forge = (kid: unknown, alg = 'HS256', key: Uint8Array | KeyObject = secret) =>
      new SignJWT({ uid: 'u', ruid: 'r', iat: now(), exp: now() + 60 })
        .setProtectedHeader({ alg, typ: 'at+jwt', ...(kid === undefined ? {} : { kid }) } as { alg: string })
        .sign(key);

    async function expectRefused(token: string): Promise<void> {
      await expect(ctx.sessions.authorizeAccess(token)).rejects.toThrow(UnauthorizedError);
      for (const spy of storeCalls) expect(spy).not.toHaveBeenCalled();
    }

    it.each([
      ['path traversal', '../../../../etc/passwd'],
      ['SQL-like', "' OR '1'='1'; DROP TABLE keys;--"],
      ['10 KB', 'k'.repeat(10 * 1024)],
      ['a URL', 'https://attacker.example/key.pem'],
      ['__proto__', '__proto__'],
      ['constructor', 'constructor'],
      ['empty', ''],
      ['unicode', 'nеw'],
    ])('refuses a token whose kid is %s, even signed with the current secret', async (_name, kid) => {
      await expectRefused(await forge(kid));
    });

    it.each([
      ['a number', 1], ['null', null], ['an object', { kid: 'new' }], ['a list', ['new']], ['true', true],
    ])('refuses a kid that is %s', async (_name, kid) => {
      await expectRefused(await forge(kid));
    });

    it('refuses a token without kid when every key has one', async () => {
      await expectRefused(await forge(undefined));
    });

    it("pins each key's algorithm: an HMAC token naming the EdDSA key is refused, even HMAC'd with its public key", async () => {
      await expectRefused(await forge('ed', 'HS256', secret));
      const publicBytes = new TextEncoder().encode(ed.publicKey.export({ type: 'spki', format: 'pem' }) as string);
      await expectRefused(await forge('ed', 'HS256', publicBytes));
      await expectRefused(await forge('new', 'EdDSA', ed.privateKey));
    });

    it('accepts what a configured key signed (the session lookup then refuses the unknown uid)', async () => {
      await expect(ctx.sessions.authorizeAccess(await forge('ed', 'EdDSA', ed.privateKey))).rejects.toThrow('Access token not found');
      await expect(ctx.sessions.authorizeAccess(await forge('new'))).rejects.toThrow('Access token not found');
    });
  });

  describe('JWKS', () => {
    it('publishes the public keys only, with kid, alg and use, and never an HMAC secret', async () => {
      const ctx = await setup(ring([
        { kid: 'ed-1', algorithm: 'EdDSA', privateKey: ed.privateKey },
        { kid: 'p256', algorithm: 'ES256', publicKey: p256.publicKey },
        { kid: 'hmac', algorithm: 'HS256', signingKey: OLD_SECRET },
      ]));
      const { keys } = ctx.config.jwks;
      expect(keys).toEqual([
        { kty: 'OKP', crv: 'Ed25519', x: expect.any(String), kid: 'ed-1', alg: 'EdDSA', use: 'sig' },
        { kty: 'EC', crv: 'P-256', x: expect.any(String), y: expect.any(String), kid: 'p256', alg: 'ES256', use: 'sig' },
      ]);
      expect(JSON.stringify(ctx.config.jwks)).not.toMatch(/"d"|"k"|old-signing/);
      // Another service verifies our access tokens with nothing but the JWKS.
      const { access } = await ctx.sessions.login({ payload: { user_id: 3 } });
      const { payload } = await jwtVerify(access, createLocalJWKSet(ctx.config.jwks), { currentDate: new Date(ctx.clock.now()) });
      expect(payload.user_id).toBe(3);
      await ctx.close();
    });

    it('is empty for HMAC keys', async () => {
      const ctx = await setup();
      expect(ctx.config.jwks).toEqual({ keys: [] });
      await ctx.close();
    });
  });

  describe('configuration', () => {
    it.each<[string, JwtSessionsModuleOptions, RegExp]>([
      ['an empty list', ring([]), /keys must be a list of at least one key/],
      ['a list and a single key', { signingKey: TEST_SIGNING_KEY, keys: [{ signingKey: NEW_SECRET }] }, /either keys or signingKey/],
      ['a duplicate kid', ring([{ kid: 'a', signingKey: NEW_SECRET }, { kid: 'a', signingKey: OLD_SECRET }]), /keys\[1\]\.kid "a" is used twice/],
      ['two keys without kid', ring([{ signingKey: NEW_SECRET }, { signingKey: OLD_SECRET }]), /keys\[1\] has no kid/],
      ['a kid with spaces', ring([{ kid: 'a b', signingKey: NEW_SECRET }]), /keys\[0\]\.kid must be/],
      ['a 129-character kid', ring([{ kid: 'k'.repeat(129), signingKey: NEW_SECRET }]), /keys\[0\]\.kid must be/],
      ['an unknown key option', ring([{ kid: 'a', signingKey: NEW_SECRET, secret: 'x' } as SigningKeyOptions]), /keys\[0\]\.secret is not a key option/],
      ['algorithm none', ring([{ kid: 'a', algorithm: 'none' as 'HS256', signingKey: NEW_SECRET }]), /keys\[0\]\.algorithm must be one of/],
      ['a short secret in a later key', ring([{ kid: 'a', signingKey: NEW_SECRET }, { kid: 'b', signingKey: 'short' }]), /keys\[1\]\.signingKey is too short/],
      ['a signing key without its private key', ring([{ kid: 'a', algorithm: 'EdDSA', publicKey: ed.publicKey }]), /keys\[0\]\.privateKey is required/],
      ['a verify-only key without any key', ring([{ kid: 'a', signingKey: NEW_SECRET }, { kid: 'b', algorithm: 'ES256' }]), /keys\[1\]\.publicKey \(or privateKey\) is required/],
      ['a public key of the wrong curve', ring([{ kid: 'a', signingKey: NEW_SECRET }, { kid: 'b', algorithm: 'ES384', publicKey: p256.publicKey }]), /keys\[1\]\.publicKey is on curve/],
    ])('refuses %s at start', async (_name, options, message) => {
      const failure = await setup(options).then(() => null, (error: unknown) => error);
      expect(failure).toBeInstanceOf(MalconfiguredError);
      expect((failure as Error).message).toMatch(message);
    });
  });
});
