import { createPrivateKey, createPublicKey, createSecretKey, KeyObject, webcrypto, type JsonWebKey } from 'node:crypto';
import { importJWK, jwtVerify, SignJWT, type JWK } from 'jose';
import { MalconfiguredError } from '../errors/jwt-sessions.errors.js';
import type { JwtAlgorithm, KeyMaterial } from '../interfaces/jwt-sessions-options.interface.js';
import { keyRequirementOf, type KeyRequirement } from './algorithms.js';

type CryptoKey = webcrypto.CryptoKey;

/** Keys imported once at bootstrap as `CryptoKey`s: jose re-imports anything else on every call. @internal */
export interface SigningKeys {
  algorithm: JwtAlgorithm;
  signKey: CryptoKey;
  verifyKey: CryptoKey;
}

interface KeyOptions {
  algorithm: JwtAlgorithm;
  signingKey?: KeyMaterial;
  privateKey?: KeyMaterial;
  publicKey?: KeyMaterial;
}

/**
 * Imports and checks the keys for the algorithm: a missing key, a key of another family or curve, a short
 * HMAC secret, a small RSA modulus, or a public key that does not verify the private key's signature all
 * fail the app's start, naming the option at fault.
 * @internal
 */
export async function importSigningKeys(options: KeyOptions): Promise<SigningKeys> {
  const requirement = keyRequirementOf(options.algorithm);
  const keys = requirement.kind === 'secret'
    ? await importSecret(options, requirement)
    : await importKeyPair(options, requirement);
  await assertRoundTrip(keys);
  return keys;
}

async function importSecret(options: KeyOptions, requirement: Extract<KeyRequirement, { kind: 'secret' }>): Promise<SigningKeys> {
  const { algorithm } = options;
  if (options.privateKey !== undefined || options.publicKey !== undefined) {
    throw new MalconfiguredError(`${algorithm} is an HMAC algorithm: give signingKey, not privateKey/publicKey`);
  }
  const secret = secretBytes(options.signingKey, algorithm);
  if (secret.length < requirement.minBytes) {
    throw new MalconfiguredError(`signingKey is too short for ${algorithm}: ${secret.length} bytes, at least ${requirement.minBytes} needed`);
  }
  const key = await webcrypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: requirement.hash }, false, ['sign', 'verify']);
  return { algorithm, signKey: key, verifyKey: key };
}

function secretBytes(material: KeyMaterial | undefined, algorithm: JwtAlgorithm): Uint8Array {
  if (material === undefined || material === null || material === '') {
    throw new MalconfiguredError(`signingKey is required for ${algorithm}`);
  }
  if (typeof material === 'string') return Buffer.from(material, 'utf8');
  if (material instanceof Uint8Array) return material;
  try {
    const keyObject = material instanceof KeyObject ? material : createSecretKey(Buffer.from(String((material as JWK).k ?? ''), 'base64url'));
    if (keyObject.type !== 'secret') throw new Error(`a ${keyObject.type} key`);
    return keyObject.export();
  } catch (error) {
    throw new MalconfiguredError(`signingKey is not a usable ${algorithm} secret (${(error as Error).message})`);
  }
}

async function importKeyPair(options: KeyOptions, requirement: Extract<KeyRequirement, { kind: 'asymmetric' }>): Promise<SigningKeys> {
  const { algorithm } = options;
  if (options.signingKey !== undefined) {
    throw new MalconfiguredError(`${algorithm} is asymmetric: give privateKey (and optionally publicKey), not signingKey`);
  }
  if (options.privateKey === undefined || options.privateKey === null || options.privateKey === '') {
    throw new MalconfiguredError(`privateKey is required for ${algorithm}`);
  }
  const privateKey = toKeyObject(options.privateKey, 'privateKey', 'private');
  assertFits(privateKey, requirement, algorithm, 'privateKey');
  const publicKey = options.publicKey === undefined ? createPublicKey(privateKey) : toKeyObject(options.publicKey, 'publicKey', 'public');
  assertFits(publicKey, requirement, algorithm, 'publicKey');
  return {
    algorithm,
    signKey: await toCryptoKey(privateKey, algorithm, 'privateKey'),
    verifyKey: await toCryptoKey(publicKey, algorithm, 'publicKey'),
  };
}

function toKeyObject(material: KeyMaterial, option: string, type: 'private' | 'public'): KeyObject {
  try {
    if (material instanceof KeyObject) {
      if (material.type !== type) throw new Error(`a ${material.type} key was given`);
      return material;
    }
    if (typeof material === 'string') return type === 'private' ? createPrivateKey(material) : createPublicKey(material);
    if (material instanceof Uint8Array) throw new Error('raw bytes are only for HMAC; give a PEM string, a JWK or a KeyObject');
    const key = { key: material as JsonWebKey, format: 'jwk' as const };
    return type === 'private' ? createPrivateKey(key) : createPublicKey(key);
  } catch (error) {
    throw new MalconfiguredError(`${option} is not a usable ${type} key (${(error as Error).message})`);
  }
}

function assertFits(key: KeyObject, requirement: Extract<KeyRequirement, { kind: 'asymmetric' }>, algorithm: JwtAlgorithm, option: string): void {
  const keyType = key.asymmetricKeyType ?? 'unknown';
  if (!requirement.keyTypes.includes(keyType)) {
    throw new MalconfiguredError(`${option} is a ${keyType} key, which does not fit ${algorithm}`);
  }
  const details = key.asymmetricKeyDetails ?? {};
  if (requirement.curve !== undefined && details.namedCurve !== requirement.curve) {
    throw new MalconfiguredError(`${option} is on curve ${details.namedCurve}, ${algorithm} needs ${requirement.curve}`);
  }
  if (requirement.minModulusBits !== undefined && (details.modulusLength ?? 0) < requirement.minModulusBits) {
    throw new MalconfiguredError(`${option} is a ${details.modulusLength}-bit RSA key; ${algorithm} needs at least ${requirement.minModulusBits} bits`);
  }
}

async function toCryptoKey(key: KeyObject, algorithm: JwtAlgorithm, option: string): Promise<CryptoKey> {
  try {
    return (await importJWK(key.export({ format: 'jwk' }) as JWK, algorithm)) as CryptoKey;
  } catch (error) {
    throw new MalconfiguredError(`${option} cannot be used with ${algorithm} (${(error as Error).message})`);
  }
}

/** Proves at bootstrap that what the private key signs, the public key verifies. */
async function assertRoundTrip(keys: SigningKeys): Promise<void> {
  const probe = await new SignJWT({ probe: true }).setProtectedHeader({ alg: keys.algorithm }).sign(keys.signKey);
  try {
    await jwtVerify(probe, keys.verifyKey, { algorithms: [keys.algorithm] });
  } catch {
    throw new MalconfiguredError('publicKey does not verify what privateKey signs: they are not a pair');
  }
}
