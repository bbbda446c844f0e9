import { createPrivateKey, createPublicKey, createSecretKey, KeyObject, webcrypto, type JsonWebKey } from 'node:crypto';
import { importJWK, jwtVerify, SignJWT, type JWK } from 'jose';
import { MalconfiguredError } from '../errors/jwt-sessions.errors.js';
import type { JwtAlgorithm, KeyMaterial, SigningKeyOptions } from '../interfaces/jwt-sessions-options.interface.js';
import { keyRequirementOf, type KeyRequirement } from './algorithms.js';

type CryptoKey = webcrypto.CryptoKey;

/** One key imported once at bootstrap as `CryptoKey`s (jose re-imports anything else on every call). @internal */
export interface ImportedKey {
  kid: string | undefined;
  algorithm: JwtAlgorithm;
  /** Absent for a verify-only public key. */
  signKey: CryptoKey | undefined;
  verifyKey: CryptoKey;
  /** The public key as a JWK, for a JWKS document; absent for HMAC secrets, which are never published. */
  publicJwk: JWK | undefined;
}

/** What an entry must be able to do: the current key signs, older ones only verify. */
export type KeyRole = 'sign' | 'verify';

/**
 * Imports and checks one key for its algorithm: a missing key, a key of another family or curve, a short HMAC
 * secret, a small RSA modulus, or a public key that does not verify the private key's signature all fail the
 * app's start, naming the option at fault (`label` says which key of a keyring).
 * @internal
 */
export async function importSigningKey(entry: SigningKeyOptions & { algorithm: JwtAlgorithm }, role: KeyRole, label: string): Promise<ImportedKey> {
  const requirement = keyRequirementOf(entry.algorithm);
  const key = requirement.kind === 'secret'
    ? await importSecret(entry, requirement, label)
    : await importKeyPair(entry, requirement, role, label);
  await assertRoundTrip(key, label);
  return key;
}

type SecretRequirement = Extract<KeyRequirement, { kind: 'secret' }>;
type AsymmetricRequirement = Extract<KeyRequirement, { kind: 'asymmetric' }>;

async function importSecret(entry: SigningKeyOptions & { algorithm: JwtAlgorithm }, requirement: SecretRequirement, label: string): Promise<ImportedKey> {
  const { algorithm } = entry;
  if (entry.privateKey !== undefined || entry.publicKey !== undefined) {
    throw new MalconfiguredError(`${algorithm} is an HMAC algorithm: give ${label}signingKey, not privateKey/publicKey`);
  }
  const secret = secretBytes(entry.signingKey, algorithm, label);
  if (secret.length < requirement.minBytes) {
    throw new MalconfiguredError(`${label}signingKey is too short for ${algorithm}: ${secret.length} bytes, at least ${requirement.minBytes} needed`);
  }
  const key = await webcrypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: requirement.hash }, false, ['sign', 'verify']);
  return { kid: entry.kid, algorithm, signKey: key, verifyKey: key, publicJwk: undefined };
}

function secretBytes(material: KeyMaterial | undefined, algorithm: JwtAlgorithm, label: string): Uint8Array {
  if (material === undefined || material === null || material === '') {
    throw new MalconfiguredError(`${label}signingKey is required for ${algorithm}`);
  }
  // A PEM or a non-`oct` JWK here is an asymmetric key left over from another algorithm: anyone holding the
  // public half could then sign tokens.
  if (typeof material === 'string') {
    if (/^\s*-----BEGIN /.test(material)) throw new MalconfiguredError(`${label}signingKey is a PEM key; ${algorithm} needs a secret`);
    return Buffer.from(material, 'utf8');
  }
  if (material instanceof Uint8Array) return material;
  try {
    if (!(material instanceof KeyObject) && (material as JWK).kty !== 'oct') throw new Error(`a ${String((material as JWK).kty)} JWK`);
    const keyObject = material instanceof KeyObject ? material : createSecretKey(Buffer.from(String((material as JWK).k ?? ''), 'base64url'));
    if (keyObject.type !== 'secret') throw new Error(`a ${keyObject.type} key`);
    return keyObject.export();
  } catch (error) {
    throw new MalconfiguredError(`${label}signingKey is not a usable ${algorithm} secret (${(error as Error).message})`);
  }
}

async function importKeyPair(
  entry: SigningKeyOptions & { algorithm: JwtAlgorithm }, requirement: AsymmetricRequirement, role: KeyRole, label: string,
): Promise<ImportedKey> {
  const { algorithm } = entry;
  if (entry.signingKey !== undefined) {
    throw new MalconfiguredError(`${algorithm} is asymmetric: give ${label}privateKey (and optionally publicKey), not signingKey`);
  }
  const hasPrivate = entry.privateKey !== undefined && entry.privateKey !== null && entry.privateKey !== '';
  if (!hasPrivate && (role === 'sign' || entry.publicKey === undefined)) {
    throw new MalconfiguredError(role === 'sign'
      ? `${label}privateKey is required for ${algorithm}`
      : `${label}publicKey (or privateKey) is required for ${algorithm}`);
  }
  const privateKey = hasPrivate ? toKeyObject(entry.privateKey as KeyMaterial, `${label}privateKey`, 'private') : undefined;
  if (privateKey) assertFits(privateKey, requirement, algorithm, `${label}privateKey`);
  const publicKey = entry.publicKey === undefined && privateKey
    ? createPublicKey(privateKey)
    : toKeyObject(entry.publicKey as KeyMaterial, `${label}publicKey`, 'public');
  assertFits(publicKey, requirement, algorithm, `${label}publicKey`);
  return {
    kid: entry.kid,
    algorithm,
    signKey: privateKey && role === 'sign' ? await toCryptoKey(privateKey, algorithm, `${label}privateKey`) : undefined,
    verifyKey: await toCryptoKey(publicKey, algorithm, `${label}publicKey`),
    publicJwk: publicKey.export({ format: 'jwk' }) as JWK,
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

function assertFits(key: KeyObject, requirement: AsymmetricRequirement, algorithm: JwtAlgorithm, option: string): void {
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

/** Proves at bootstrap that what the private key signs, the public key verifies (skipped for verify-only keys). */
async function assertRoundTrip(key: ImportedKey, label: string): Promise<void> {
  if (key.signKey === undefined) return;
  const probe = await new SignJWT({ probe: true }).setProtectedHeader({ alg: key.algorithm }).sign(key.signKey);
  try {
    await jwtVerify(probe, key.verifyKey, { algorithms: [key.algorithm] });
  } catch {
    throw new MalconfiguredError(`${label}publicKey does not verify what ${label}privateKey signs: they are not a pair`);
  }
}
