import { createSecretKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { jwtVerify, type JWK } from 'jose';
import {
  MalconfiguredError, type JwtAlgorithm, type JwtSessionsModuleOptions, type KeyMaterial,
} from '../../lib/index.js';
import { decodePayload, setup } from '../support/setup.js';

/**
 * Every algorithm signs and verifies end to end through the module (port of test_token.rb's RSA, ECDSA, EdDSA and
 * HMAC cases), with keys as PEM, JWK and KeyObject; every unusable key fails the app's start naming the option.
 */

interface Pair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

type Format = 'PEM' | 'JWK' | 'KeyObject';
const FORMATS: Format[] = ['PEM', 'JWK', 'KeyObject'];

function inFormat(key: KeyObject, format: Format): KeyMaterial {
  if (format === 'KeyObject') return key;
  if (format === 'JWK') return key.export({ format: 'jwk' }) as JWK;
  return key.export(key.type === 'private' ? { type: 'pkcs8', format: 'pem' } : { type: 'spki', format: 'pem' }) as string;
}

const pem = (key: KeyObject) => inFormat(key, 'PEM') as string;

/** Asymmetric options: setup() passes an HMAC signingKey by default, which asymmetric algorithms refuse. */
function asymmetric(algorithm: JwtAlgorithm, privateKey?: KeyMaterial, publicKey?: KeyMaterial): JwtSessionsModuleOptions {
  return { algorithm, signingKey: undefined, privateKey, publicKey };
}

type KeyName = 'rsa' | 'p256' | 'p384' | 'p521' | 'ed25519';
const keys = {} as Record<KeyName | `${KeyName}Other` | 'rsa1024' | 'rsaPss' | 'ed448', Pair>;

beforeAll(() => {
  keys.rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  keys.rsaOther = generateKeyPairSync('rsa', { modulusLength: 2048 });
  keys.rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 });
  keys.rsaPss = generateKeyPairSync('rsa-pss', { modulusLength: 2048 });
  keys.p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  keys.p256Other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  keys.p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  keys.p384Other = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  keys.p521 = generateKeyPairSync('ec', { namedCurve: 'P-521' });
  keys.p521Other = generateKeyPairSync('ec', { namedCurve: 'P-521' });
  keys.ed25519 = generateKeyPairSync('ed25519');
  keys.ed25519Other = generateKeyPairSync('ed25519');
  keys.ed448 = generateKeyPairSync('ed448');
});

/** Logs in, authorizes and refreshes through the module, and checks the token independently with jose. */
async function expectRoundTrip(options: JwtSessionsModuleOptions, algorithm: JwtAlgorithm, verifyKey: KeyObject | Uint8Array): Promise<void> {
  const { sessions, config, clock } = await setup(options);
  expect(config.algorithm).toBe(algorithm);
  const tokens = await sessions.login({ payload: { user_id: 1, secret: 'mystery' } });
  const { payload } = await sessions.authorizeAccess(tokens.access);
  expect(payload).toMatchObject({ user_id: 1, secret: 'mystery' });
  const refreshed = await sessions.refresh(tokens.refresh);
  await expect(sessions.authorizeAccess(refreshed.access)).resolves.toBeDefined();
  const { protectedHeader, payload: independent } = await jwtVerify(tokens.access, verifyKey, {
    algorithms: [algorithm],
    currentDate: new Date(clock.now()),
  });
  expect(protectedHeader).toEqual({ alg: algorithm, typ: 'at+jwt' });
  expect(independent).toEqual(decodePayload(tokens.access));
}

async function expectMalconfigured(options: JwtSessionsModuleOptions, message: RegExp): Promise<void> {
  const error = await setup(options).then(() => null, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(MalconfiguredError);
  expect((error as MalconfiguredError).code).toBe('ERR_JWT_SESSIONS_MALCONFIGURED');
  expect((error as MalconfiguredError).message).toMatch(message);
}

describe('signing keys', () => {
  describe('HMAC', () => {
    it.each([
      ['HS256', 32],
      ['HS384', 48],
      ['HS512', 64],
    ] as const)('%s signs and verifies with a secret of %i bytes as string, bytes, JWK and KeyObject', async (algorithm, bytes) => {
      const secret = randomBytes(bytes);
      const text = 'k'.repeat(bytes);
      await expectRoundTrip({ algorithm, signingKey: text }, algorithm, new TextEncoder().encode(text));
      await expectRoundTrip({ algorithm, signingKey: new Uint8Array(secret) }, algorithm, secret);
      await expectRoundTrip({ algorithm, signingKey: { kty: 'oct', k: secret.toString('base64url') } }, algorithm, secret);
      await expectRoundTrip({ algorithm, signingKey: createSecretKey(secret) }, algorithm, secret);
    });
  });

  describe.each([
    ['RS256', 'rsa'],
    ['RS384', 'rsa'],
    ['RS512', 'rsa'],
    ['PS256', 'rsa'],
    ['PS384', 'rsa'],
    ['PS512', 'rsa'],
    ['ES256', 'p256'],
    ['ES384', 'p384'],
    ['ES512', 'p521'],
    ['EdDSA', 'ed25519'],
  ] as const)('%s', (algorithm, keyName) => {
    it.each(FORMATS)('signs and verifies with keys given as %s', async (format) => {
      const { privateKey, publicKey } = keys[keyName];
      await expectRoundTrip(asymmetric(algorithm, inFormat(privateKey, format), inFormat(publicKey, format)), algorithm, publicKey);
    });

    it('derives the public key from the private key when publicKey is omitted', async () => {
      const { privateKey, publicKey } = keys[keyName];
      await expectRoundTrip(asymmetric(algorithm, pem(privateKey)), algorithm, publicKey);
    });

    it('fails the start when the public key is not the private key pair', async () => {
      const other = keys[`${keyName}Other`];
      await expectMalconfigured(asymmetric(algorithm, keys[keyName].privateKey, other.publicKey), /publicKey does not verify what privateKey signs/);
    });
  });

  describe('an unusable configuration fails the start with MalconfiguredError naming the option', () => {
    it.each<[string, () => JwtSessionsModuleOptions, RegExp]>([
      ['no HMAC key', () => ({ signingKey: undefined }), /signingKey is required for HS256/],
      ['an empty HMAC key', () => ({ signingKey: '' }), /signingKey is required/],
      ['a 31-byte key for HS256', () => ({ signingKey: 'k'.repeat(31) }), /signingKey is too short for HS256: 31 bytes/],
      ['a 32-byte key for HS384', () => ({ algorithm: 'HS384', signingKey: 'k'.repeat(32) }), /signingKey is too short for HS384/],
      ['a 63-byte key for HS512', () => ({ algorithm: 'HS512', signingKey: 'k'.repeat(63) }), /signingKey is too short for HS512/],
      ['an RSA key object as HMAC key', () => ({ signingKey: keys.rsa.privateKey }), /signingKey is not a usable HS256 secret/],
      ['an RSA JWK as HMAC key', () => ({ signingKey: keys.rsa.publicKey.export({ format: 'jwk' }) as JWK }), /signingKey/],
      ['a private key for HS256', () => ({ privateKey: pem(keys.rsa.privateKey) }), /HS256 is an HMAC algorithm: give signingKey, not privateKey/],
      ['no private key for RS256', () => asymmetric('RS256'), /privateKey is required for RS256/],
      ['only a public key for ES256', () => asymmetric('ES256', undefined, keys.p256.publicKey), /privateKey is required for ES256/],
      ['an HMAC key for RS256', () => ({ algorithm: 'RS256', signingKey: 'k'.repeat(64) }), /RS256 is asymmetric: give privateKey .*not signingKey/],
      ['a 1024-bit RSA key', () => asymmetric('RS256', keys.rsa1024.privateKey), /privateKey is a 1024-bit RSA key; RS256 needs at least 2048 bits/],
      ['a 1024-bit RSA key for PS512', () => asymmetric('PS512', pem(keys.rsa1024.privateKey)), /privateKey is a 1024-bit RSA key/],
      ['a 1024-bit RSA public key', () => asymmetric('RS256', keys.rsa.privateKey, keys.rsa1024.publicKey), /publicKey is a 1024-bit RSA key/],
      ['an EC key for RS256', () => asymmetric('RS256', keys.p256.privateKey), /privateKey is a ec key, which does not fit RS256/],
      ['an Ed25519 key for PS256', () => asymmetric('PS256', keys.ed25519.privateKey), /privateKey is a ed25519 key, which does not fit PS256/],
      ['an RSA key for ES256', () => asymmetric('ES256', keys.rsa.privateKey), /privateKey is a rsa key, which does not fit ES256/],
      ['an EC key for EdDSA', () => asymmetric('EdDSA', keys.p256.privateKey), /privateKey is a ec key, which does not fit EdDSA/],
      ['an Ed448 key for EdDSA', () => asymmetric('EdDSA', keys.ed448.privateKey), /privateKey is a ed448 key/],
      ['a P-384 key for ES256', () => asymmetric('ES256', keys.p384.privateKey), /privateKey is on curve secp384r1, ES256 needs prime256v1/],
      ['a P-256 key for ES384', () => asymmetric('ES384', keys.p256.privateKey), /privateKey is on curve prime256v1, ES384 needs secp384r1/],
      ['a P-384 key for ES512', () => asymmetric('ES512', pem(keys.p384.privateKey)), /privateKey is on curve secp384r1, ES512 needs secp521r1/],
      ['a public key on another curve', () => asymmetric('ES256', keys.p256.privateKey, keys.p384.publicKey), /publicKey is on curve secp384r1/],
      ['a public key of another family', () => asymmetric('ES256', keys.p256.privateKey, keys.rsa.publicKey), /publicKey is a rsa key/],
      ['a public PEM as private key', () => asymmetric('RS256', pem(keys.rsa.publicKey)), /privateKey is not a usable private key/],
      ['a public KeyObject as private key', () => asymmetric('RS256', keys.rsa.publicKey), /privateKey is not a usable private key/],
      ['a public JWK as private key', () => asymmetric('ES256', keys.p256.publicKey.export({ format: 'jwk' }) as JWK), /privateKey is not a usable private key/],
      ['a private KeyObject as public key', () => asymmetric('RS256', keys.rsa.privateKey, keys.rsa.privateKey), /publicKey is not a usable public key/],
      ['a garbage PEM', () => asymmetric('RS256', '-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----'), /privateKey is not a usable private key/],
      ['raw bytes as private key', () => asymmetric('EdDSA', new Uint8Array(32)), /privateKey is not a usable private key \(raw bytes are only for HMAC/],
      ['algorithm none', () => ({ algorithm: 'none' as JwtAlgorithm }), /algorithm must be one of HS256/],
      ['algorithm HS1024', () => ({ algorithm: 'HS1024' as JwtAlgorithm }), /algorithm/],
      ['algorithm in lower case', () => ({ algorithm: 'hs256' as JwtAlgorithm }), /algorithm/],
      ["the gem's ED25519 name", () => ({ algorithm: 'ED25519' as JwtAlgorithm }), /algorithm/],
    ])('%s', async (_name, options, message) => {
      await expectMalconfigured(options(), message);
    });

    it('an RSA-PSS-only key object, refused for its key type (a plain RSA key serves PS256)', async () => {
      await expectMalconfigured(asymmetric('PS256', keys.rsaPss.privateKey), /privateKey is a rsa-pss key, which does not fit PS256/);
    });
  });
});
