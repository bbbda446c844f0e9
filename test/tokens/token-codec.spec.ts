import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SignJWT, UnsecuredJWT } from 'jose';
import { ClaimsVerificationError, ExpiredError, UnauthorizedError, type SessionTokens } from '../../lib/index.js';
import { TokenCodec } from '../../lib/tokens/token-codec.js';
import { decodePayload, setup, TEST_SIGNING_KEY } from '../support/setup.js';

/**
 * Port of the gem's test_token.rb and test_authorization.rb (claims), through the module: signature and algorithm
 * checks, token types, expiry with leeway on the manual clock, and issuer/audience/subject claims.
 */

const START = Date.UTC(2026, 0, 1) / 1000;
const UNAUTHORIZED = { code: 'ERR_JWT_SESSIONS_UNAUTHORIZED' };
const EXPIRED = { code: 'ERR_JWT_SESSIONS_EXPIRED' };
const CLAIMS = { code: 'ERR_JWT_SESSIONS_CLAIMS_VERIFICATION' };
const INVALID_PAYLOAD = { code: 'ERR_JWT_SESSIONS_INVALID_PAYLOAD' };
const payload = { user_id: 1, secret: 'mystery' };
const secretBytes = new TextEncoder().encode(TEST_SIGNING_KEY);

const segment = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const headerOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString('utf8'));

function withPayload(token: string, changes: Record<string, unknown>): string {
  const [header, , signature] = token.split('.');
  return [header, segment({ ...decodePayload(token), ...changes }), signature].join('.');
}

let ctx: Awaited<ReturnType<typeof setup>>;
let codec: TokenCodec;
let tokens: SessionTokens;

async function start(options: Parameters<typeof setup>[0] = {}): Promise<void> {
  ctx = await setup(options);
  codec = ctx.moduleRef.get(TokenCodec);
  tokens = await ctx.sessions.login({ payload });
}

describe('TokenCodec', () => {
  beforeEach(() => start());

  it('signs and verifies the payload round trip (test_hmac_token_decode)', async () => {
    const token = await codec.sign({ ...payload, exp: START + 60 }, 'access');
    expect(await codec.verify(token, 'access')).toEqual({ ...payload, exp: START + 60 });
    expect(headerOf(token)).toEqual({ alg: 'HS256', typ: 'at+jwt' });
    expect(headerOf(await codec.sign({ exp: START + 60 }, 'refresh'))).toEqual({ alg: 'HS256', typ: 'rt+jwt' });
  });

  describe('malformed tokens (test_invalid_token_decode)', () => {
    it.each([
      ['abc', 'abc'],
      ['an empty string', ''],
      ['two segments', 'a.b'],
      ['an empty signature', 'a.b.'],
      ['five segments (JWE)', 'a.b.c.d.e'],
      ['padded base64', 'eyJ=.eyJ=.abc='],
      ['standard base64 characters', 'a+b.c/d.e'],
      ['a JSON serialization', '{"payload":"e30","signatures":[]}'],
      ['three garbage segments', 'aaa.bbb.ccc'],
    ])('refuses %s with UnauthorizedError', async (_name, token) => {
      await expect(codec.verify(token, 'access')).rejects.toMatchObject(UNAUTHORIZED);
      await expect(ctx.sessions.authorizeAccess(token)).rejects.toMatchObject(UNAUTHORIZED);
      expect(await ctx.sessions.sessionExists(token)).toBe(false);
    });

    it('refuses a valid token with surrounding whitespace', async () => {
      await expect(ctx.sessions.authorizeAccess(` ${tokens.access}`)).rejects.toMatchObject(UNAUTHORIZED);
      await expect(ctx.sessions.authorizeAccess(`${tokens.access}\n`)).rejects.toMatchObject(UNAUTHORIZED);
    });

    it('refuses a token longer than maxTokenLength unread', async () => {
      const long = `${'a'.repeat(5000)}.${'b'.repeat(5000)}.c`;
      await expect(codec.verify(long, 'access')).rejects.toThrow('Malformed token');
      const roomy = await setup({ maxTokenLength: 4096 });
      const big = await roomy.sessions.login({ payload: { blob: 'x'.repeat(1000) } });
      await start({ maxTokenLength: 1024 });
      expect(big.access.length).toBeGreaterThan(1024);
      await expect(ctx.sessions.authorizeAccess(big.access)).rejects.toThrow('Malformed token');
    });

    it('refuses a nil token with UnauthorizedError, as the gem does (Token.decode(nil))', async () => {
      await expect(ctx.sessions.authorizeAccess(null as unknown as string)).rejects.toMatchObject(UNAUTHORIZED);
      await expect(ctx.sessions.refresh(undefined as unknown as string)).rejects.toMatchObject(UNAUTHORIZED);
      await expect(codec.verify(42, 'access')).rejects.toMatchObject(UNAUTHORIZED);
    });

    it('answers false, not a TypeError, from sessionExists and isValidCsrf for an absent token', async () => {
      expect(await ctx.sessions.sessionExists(undefined as unknown as string)).toBe(false);
      expect(await ctx.sessions.isValidCsrf(undefined as unknown as string, tokens.csrf)).toBe(false);
    });
  });

  describe('signature and algorithm', () => {
    it('refuses a token whose payload was changed', async () => {
      const forged = withPayload(tokens.access, { user_id: 2 });
      await expect(ctx.sessions.authorizeAccess(forged)).rejects.toThrow('Token cannot be verified');
      await expect(ctx.sessions.authorizeAccess(forged)).rejects.not.toBeInstanceOf(ClaimsVerificationError);
    });

    it('refuses a token whose signature was changed', async () => {
      const [header, body, signature] = tokens.access.split('.');
      const flipped = signature.slice(0, 10) + (signature[10] === 'A' ? 'B' : 'A') + signature.slice(11);
      await expect(ctx.sessions.authorizeAccess([header, body, flipped].join('.'))).rejects.toMatchObject(UNAUTHORIZED);
    });

    it('refuses a token signed with another key', async () => {
      const other = await setup({ signingKey: 'another-signing-key-0123456789abcdef' });
      const foreign = await other.sessions.login({ payload });
      await expect(ctx.sessions.authorizeAccess(foreign.access)).rejects.toMatchObject(UNAUTHORIZED);
      await expect(ctx.sessions.refresh(foreign.refresh)).rejects.toMatchObject(UNAUTHORIZED);
    });

    it("refuses an unsigned token, with or without a signature segment (test_none_token_decode)", async () => {
      const claims = { ...decodePayload(tokens.access) };
      const unsecured = new UnsecuredJWT(claims).encode();
      await expect(ctx.sessions.authorizeAccess(unsecured)).rejects.toMatchObject(UNAUTHORIZED);
      const [, body] = tokens.access.split('.');
      const noneWithSignature = [segment({ alg: 'none', typ: 'at+jwt' }), body, tokens.access.split('.')[2]].join('.');
      await expect(ctx.sessions.authorizeAccess(noneWithSignature)).rejects.toMatchObject(UNAUTHORIZED);
    });

    it('refuses a token signed with the same secret under another algorithm', async () => {
      const claims = decodePayload(tokens.access);
      const hs512 = await new SignJWT(claims).setProtectedHeader({ alg: 'HS512', typ: 'at+jwt' }).sign(secretBytes);
      await expect(ctx.sessions.authorizeAccess(hs512)).rejects.toMatchObject(UNAUTHORIZED);
      const hs256 = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' }).sign(secretBytes);
      await expect(ctx.sessions.authorizeAccess(hs256)).resolves.toBeDefined();
    });

    describe('with an RSA key', () => {
      let rsa: { privateKey: KeyObject; publicKey: KeyObject };

      beforeAll(() => {
        rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
      });

      it('refuses an HS256 token keyed with the public key (algorithm confusion)', async () => {
        await start({ algorithm: 'RS256', signingKey: undefined, privateKey: rsa.privateKey });
        const claims = decodePayload(tokens.access);
        const pem = rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string;
        const confused = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' }).sign(new TextEncoder().encode(pem));
        await expect(ctx.sessions.authorizeAccess(confused)).rejects.toMatchObject(UNAUTHORIZED);
        await expect(ctx.sessions.authorizeAccess(tokens.access)).resolves.toBeDefined();
      });
    });
  });

  describe('token types', () => {
    it('refuses a refresh token where an access token is expected', async () => {
      await expect(ctx.sessions.authorizeAccess(tokens.refresh)).rejects.toMatchObject(CLAIMS);
      await expect(ctx.sessions.maskedCsrf(tokens.refresh)).rejects.toMatchObject(CLAIMS);
      await expect(codec.verify(tokens.refresh, 'access')).rejects.toThrow('Token claim check failed: typ');
    });

    it('refuses an access token where a refresh token is expected', async () => {
      await expect(ctx.sessions.authorizeRefresh(tokens.access)).rejects.toMatchObject(CLAIMS);
      await expect(ctx.sessions.refresh(tokens.access)).rejects.toMatchObject(CLAIMS);
      await expect(codec.verify(tokens.access, 'refresh')).rejects.toThrow('Token claim check failed: typ');
    });

    it('refuses a correctly signed token without our typ header', async () => {
      const claims = decodePayload(tokens.access);
      for (const header of [{ alg: 'HS256' }, { alg: 'HS256', typ: 'JWT' }, { alg: 'HS256', typ: 'rt+jwt' }]) {
        const token = await new SignJWT(claims).setProtectedHeader(header).sign(secretBytes);
        await expect(ctx.sessions.authorizeAccess(token)).rejects.toMatchObject(CLAIMS);
      }
    });

    it('refuses a token without uid or ruid, even correctly signed', async () => {
      const { uid: _uid, ...withoutUid } = decodePayload(tokens.access);
      const { ruid: _ruid, ...withoutRuid } = decodePayload(tokens.access);
      await expect(ctx.sessions.authorizeAccess(await codec.sign(withoutUid, 'access'))).rejects.toThrow('does not contain uid');
      await expect(ctx.sessions.authorizeAccess(await codec.sign(withoutRuid, 'access'))).rejects.toThrow('does not contain ruid');
      await expect(ctx.sessions.authorizeAccess(await codec.sign({ ...withoutUid, uid: 7 }, 'access'))).rejects.toMatchObject(UNAUTHORIZED);
    });
  });

  describe('expiry', () => {
    it('requires an exp claim', async () => {
      const token = await codec.sign({ uid: 'u', ruid: 'r' }, 'access');
      await expect(codec.verify(token, 'access')).rejects.toMatchObject(CLAIMS);
    });

    it('refuses a long expired token with ExpiredError (test_payload_exp_time)', async () => {
      const token = await codec.sign({ ...payload, exp: START - 3600 * 24 }, 'access');
      const error = await codec.verify(token, 'access').catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ExpiredError);
      expect(error).toBeInstanceOf(ClaimsVerificationError);
      expect(error).toBeInstanceOf(UnauthorizedError);
      expect((error as ExpiredError).getStatus()).toBe(401);
      expect((error as ExpiredError).getResponse()).toEqual({
        statusCode: 401, error: 'Unauthorized', code: 'ERR_JWT_SESSIONS_EXPIRED', message: 'Token has expired',
      });
    });

    it('expires an access token exactly at exp, by the module clock', async () => {
      ctx.clock.advance(3599);
      await expect(ctx.sessions.authorizeAccess(tokens.access)).resolves.toBeDefined();
      ctx.clock.advance(0.999);
      await expect(ctx.sessions.authorizeAccess(tokens.access)).resolves.toBeDefined();
      ctx.clock.advance(0.001);
      await expect(ctx.sessions.authorizeAccess(tokens.access)).rejects.toMatchObject(EXPIRED);
    });

    it('tolerates the module leeway past exp, and not a second more', async () => {
      await start({ verify: { leeway: 10 } });
      ctx.clock.advance(3609);
      await expect(ctx.sessions.authorizeAccess(tokens.access)).resolves.toBeDefined();
      ctx.clock.advance(1);
      await expect(ctx.sessions.authorizeAccess(tokens.access)).rejects.toMatchObject(EXPIRED);
    });

    it('tolerates a per-call leeway past exp', async () => {
      ctx.clock.advance(3605);
      await expect(ctx.sessions.authorizeAccess(tokens.access)).rejects.toMatchObject(EXPIRED);
      await expect(ctx.sessions.authorizeAccess(tokens.access, { leeway: 10 })).resolves.toBeDefined();
      await expect(ctx.sessions.authorizeAccess(tokens.access, { leeway: 5 })).rejects.toMatchObject(EXPIRED);
    });

    it('decodes within the leeway and refuses beyond it (test_token_leeway_decode)', async () => {
      await start({ verify: { leeway: 50 } });
      const recent = await codec.sign({ ...payload, exp: START - 20 }, 'access');
      expect(await codec.verify(recent, 'access')).toMatchObject(payload);
      const old = await codec.sign({ ...payload, exp: START - 100 }, 'access');
      await expect(codec.verify(old, 'access')).rejects.toMatchObject(EXPIRED);
    });

    it('ends a refresh token with its session, leeway or not', async () => {
      await start({ verify: { leeway: 60 } });
      ctx.clock.advance(604800 + 30);
      await expect(ctx.sessions.refresh(tokens.refresh)).rejects.toThrow('Refresh token not found');
    });

    it('waives only exp on refresh by access: the signature and other claims still count', async () => {
      await start({ verify: { issuer: 'me' } });
      const allowed = await ctx.sessions.login({ payload: { iss: 'other' }, refreshByAccessAllowed: true });
      ctx.clock.advance(3600);
      await expect(ctx.sessions.refreshByAccess(allowed.access)).rejects.toMatchObject(CLAIMS);
      const forged = withPayload(allowed.access, { iss: 'me' });
      await expect(ctx.sessions.refreshByAccess(forged)).rejects.toMatchObject(UNAUTHORIZED);
      await expect(ctx.sessions.refreshByAccess(forged)).rejects.not.toBeInstanceOf(ClaimsVerificationError);
    });

    it('honours nbf, with the leeway', async () => {
      const early = await ctx.sessions.login({ payload: { nbf: START + 100 } });
      await expect(ctx.sessions.authorizeAccess(early.access)).rejects.toMatchObject(CLAIMS);
      await expect(ctx.sessions.authorizeAccess(early.access, { leeway: 100 })).resolves.toBeDefined();
      ctx.clock.advance(100);
      await expect(ctx.sessions.authorizeAccess(early.access)).resolves.toBeDefined();
    });
  });

  describe('claims', () => {
    describe('module verify (test_authorization.rb)', () => {
      it.each([
        ['issuer', { issuer: 'issuer' }, 'iss', 'issuer', 'another_issuer'],
        ['audience', { audience: 'audience' }, 'aud', 'audience', 'another_audience'],
      ])('checks %s on every token', async (_name, verify, claim, good, bad) => {
        await start({ verify });
        const valid = await ctx.sessions.login({ payload: { user_id: 1, [claim]: good } });
        const wrong = await ctx.sessions.login({ payload: { user_id: 1, [claim]: bad } });
        expect(await ctx.sessions.sessionExists(valid.access)).toBe(true);
        expect(await ctx.sessions.sessionExists(valid.refresh, 'refresh')).toBe(true);
        expect(await ctx.sessions.sessionExists(wrong.access)).toBe(false);
        expect(await ctx.sessions.sessionExists(wrong.refresh, 'refresh')).toBe(false);
        await expect(ctx.sessions.authorizeAccess(wrong.access)).rejects.toMatchObject(CLAIMS);
        // A token signed with the module's key but without the claim (not one the module issued) is refused.
        const bare = await new SignJWT({ user_id: 1, exp: START + 60 }).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' }).sign(secretBytes);
        await expect(codec.verify(bare, 'access')).rejects.toMatchObject(CLAIMS);
      });

      it('accepts any issuer of a list', async () => {
        await start({ verify: { issuer: ['a', 'b'] } });
        const fromB = await ctx.sessions.login({ payload: { iss: 'b' } });
        const fromC = await ctx.sessions.login({ payload: { iss: 'c' } });
        expect(await ctx.sessions.sessionExists(fromB.access)).toBe(true);
        expect(await ctx.sessions.sessionExists(fromC.access)).toBe(false);
      });
    });

    describe('per call (test_token.rb)', () => {
      it('checks sub (test_token_sub_claim)', async () => {
        const issued = await ctx.sessions.login({ payload: { ...payload, sub: 'subject' } });
        const { payload: verified } = await ctx.sessions.authorizeAccess(issued.access, { subject: 'subject' });
        expect(verified).toMatchObject(payload);
        await expect(ctx.sessions.authorizeAccess(issued.access, { subject: 'different subject' })).rejects.toMatchObject(CLAIMS);
      });

      it('checks iss (test_token_iss_claim)', async () => {
        const issued = await ctx.sessions.login({ payload: { ...payload, iss: 'Me' } });
        expect((await ctx.sessions.authorizeAccess(issued.access, { issuer: 'Me' })).payload).toMatchObject(payload);
        await expect(ctx.sessions.authorizeAccess(issued.access, { issuer: 'Not Me' })).rejects.toMatchObject(CLAIMS);
      });

      it('checks aud, any one matching (test_token_aud_claim)', async () => {
        const issued = await ctx.sessions.login({ payload: { ...payload, aud: ['young', 'old'] } });
        expect((await ctx.sessions.authorizeAccess(issued.access, { audience: ['young'] })).payload).toMatchObject(payload);
        expect((await ctx.sessions.authorizeAccess(issued.access, { audience: 'old' })).payload).toMatchObject(payload);
        await expect(ctx.sessions.authorizeAccess(issued.access, { audience: ['adult'] })).rejects.toMatchObject(CLAIMS);
      });

      it('checks claims on refresh tokens too, and a refused flush keeps the session', async () => {
        const issued = await ctx.sessions.login({ payload: { iss: 'Me' } });
        await expect(ctx.sessions.authorizeRefresh(issued.refresh, { issuer: 'Not Me' })).rejects.toMatchObject(CLAIMS);
        await expect(ctx.sessions.refresh(issued.refresh, { claims: { issuer: 'Not Me' } })).rejects.toMatchObject(CLAIMS);
        await expect(ctx.sessions.flushByToken(issued.refresh, { issuer: 'Not Me' })).rejects.toMatchObject(CLAIMS);
        expect(await ctx.sessions.sessionExists(issued.refresh, 'refresh', { issuer: 'Me' })).toBe(true);
        expect(await ctx.sessions.flushByToken(issued.refresh, { issuer: 'Me' })).toBe(1);
      });

      it('overrides the module verify field by field', async () => {
        await start({ verify: { issuer: 'me', audience: 'app' } });
        const mine = await ctx.sessions.login({ payload: { iss: 'me', aud: 'app' } });
        const theirs = await ctx.sessions.login({ payload: { iss: 'them', aud: 'app' } });
        await expect(ctx.sessions.authorizeAccess(mine.access)).resolves.toBeDefined();
        await expect(ctx.sessions.authorizeAccess(mine.access, { audience: 'other' })).rejects.toMatchObject(CLAIMS);
        await expect(ctx.sessions.authorizeAccess(theirs.access, { audience: 'app' })).rejects.toMatchObject(CLAIMS);
        await expect(ctx.sessions.authorizeAccess(theirs.access, { issuer: 'them' })).resolves.toBeDefined();
      });

      it('does not drop a module check when a per-call claim is explicitly undefined', async () => {
        await start({ verify: { issuer: 'me' } });
        const theirs = await ctx.sessions.login({ payload: { iss: 'them' } });
        await expect(ctx.sessions.authorizeAccess(theirs.access, { issuer: undefined, audience: undefined })).rejects.toMatchObject(CLAIMS);
      });
    });

    it('stamps the module verify issuer and audience into the tokens it issues, on login and on every refresh', async () => {
      await start({ verify: { issuer: ['me', 'also-me'], audience: ['app', 'admin'] } });
      const tokens = await ctx.sessions.login({ payload });
      expect(decodePayload(tokens.access)).toMatchObject({ iss: 'me', aud: ['app', 'admin'] });
      expect(decodePayload(tokens.refresh)).toMatchObject({ iss: 'me', aud: ['app', 'admin'] });
      await expect(ctx.sessions.authorizeAccess(tokens.access)).resolves.toBeDefined();
      const refreshed = await ctx.sessions.refresh(tokens.refresh);
      expect(decodePayload(refreshed.access)).toMatchObject({ iss: 'me', aud: ['app', 'admin'] });
      await expect(ctx.sessions.authorizeAccess(refreshed.access)).resolves.toBeDefined();
      // The app's own iss wins, and is checked like any other.
      const other = await ctx.sessions.login({ payload: { ...payload, iss: 'someone-else' } });
      await expect(ctx.sessions.authorizeAccess(other.access)).rejects.toMatchObject(CLAIMS);
    });
  });

  describe('maxTokenLength when issuing', () => {
    beforeEach(() => start({ maxTokenLength: 512 }));

    it('refuses at login a payload whose token would be too long to read back, and stores nothing', async () => {
      await expect(ctx.sessions.login({ payload: { blob: 'x'.repeat(600) } })).rejects.toMatchObject(INVALID_PAYLOAD);
      await expect(ctx.sessions.login({ payload: { blob: 'x'.repeat(600) } })).rejects.toThrow(/^payload makes a \d+-character access token; the limit is 512/);
      await expect(ctx.sessions.login({ refreshPayload: { blob: 'x'.repeat(600) } })).rejects.toThrow(/^refreshPayload makes/);
      expect(await ctx.sessions.flushAll()).toBe(1);
    });

    it('refuses at login a token a browser would not keep as a cookie, even under a larger maxTokenLength', async () => {
      await start({ maxTokenLength: 8192 });
      await expect(ctx.sessions.login({ payload: { blob: 'x'.repeat(2800) } })).resolves.toBeDefined();
      await expect(ctx.sessions.login({ payload: { blob: 'x'.repeat(3200) } })).rejects.toThrow(/^payload makes a \d+-character access token; the limit is 4085/);
      await expect(ctx.sessions.login({ refreshPayload: { blob: 'x'.repeat(3200) } })).rejects.toThrow(/^refreshPayload makes a \d+-character refresh token; the limit is 4084/);
    });

    it('refuses at refresh a payload whose token would be too long, and keeps the current access token', async () => {
      await expect(ctx.sessions.refresh(tokens.refresh, { payload: { blob: 'x'.repeat(600) } })).rejects.toMatchObject(INVALID_PAYLOAD);
      await expect(ctx.sessions.authorizeAccess(tokens.access)).resolves.toBeDefined();
      const refreshed = await ctx.sessions.refresh(tokens.refresh, { payload: { blob: 'x'.repeat(100) } });
      await expect(ctx.sessions.authorizeAccess(refreshed.access)).resolves.toBeDefined();
    });
  });
});
