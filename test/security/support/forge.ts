/**
 * Building blocks for forged tokens: base64url segments, HMAC signatures made by hand (jose refuses to HMAC with a
 * PEM or under an algorithm the key was not made for), and jose's signers for arbitrary payload bytes.
 */
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { CompactSign, type KeyInput } from 'jose';
import type { JsonObject } from './security-app.js';

/** base64url of a string (UTF-8), of bytes, or of a value as JSON. */
export function b64u(data: string | Uint8Array | JsonObject | unknown[]): string {
  if (typeof data === 'string') return Buffer.from(data, 'utf8').toString('base64url');
  if (data instanceof Uint8Array) return Buffer.from(data).toString('base64url');
  return Buffer.from(JSON.stringify(data), 'utf8').toString('base64url');
}

/** A payload segment: an object or any JSON value as JSON, or raw bytes as they are. */
export function payloadSegment(payload: unknown): string {
  return payload instanceof Uint8Array ? b64u(payload) : Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
}

/** `header.payload.signature`, with the signature given as base64url text (possibly empty or junk). */
export function unsignedToken(header: JsonObject, payload: unknown, signature = ''): string {
  return `${b64u(header)}.${payloadSegment(payload)}.${signature}`;
}

const HMAC_HASH = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' } as const;
export type HmacAlgorithm = keyof typeof HMAC_HASH;

/**
 * A token whose signature is an HMAC over `header.payload` with any key bytes (a PEM, a DER, a short secret),
 * whatever `alg` the header claims: what an attacker can compute without any library's consent.
 */
export function hmacToken(hash: HmacAlgorithm, key: string | Uint8Array, header: JsonObject, payload: unknown): string {
  const signingInput = `${b64u(header)}.${payloadSegment(payload)}`;
  const signature = createHmac(HMAC_HASH[hash], key).update(signingInput).digest('base64url');
  return `${signingInput}.${signature}`;
}

/** A token signed by jose with any header and any payload bytes (jose's own JWT builder only takes objects). */
export function joseToken(header: JsonObject & { alg: string }, payload: unknown, key: KeyInput): Promise<string> {
  const bytes = payload instanceof Uint8Array ? payload : new TextEncoder().encode(JSON.stringify(payload));
  return new CompactSign(bytes).setProtectedHeader(header).sign(key);
}

/** The same token with some claims changed and the header and signature kept. */
export function tamperClaims(token: string, changes: JsonObject): string {
  const [header, payload, signature] = token.split('.');
  const claims = { ...JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')), ...changes } as JsonObject;
  return `${header}.${b64u(claims)}.${signature}`;
}

/** The same token with another signature segment. */
export function withSignature(token: string, signature: string): string {
  const [header, payload] = token.split('.');
  return `${header}.${payload}.${signature}`;
}

/** Bytes of a secret as the module reads a string `signingKey`. */
export function secretBytes(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

/** Key pairs generated once per test file (RSA generation is the slow part). */
let rsaKeys: { server: ReturnType<typeof rsa>; attacker: ReturnType<typeof rsa> } | undefined;
function rsa() {
  return generateKeyPairSync('rsa', { modulusLength: 2048 });
}

/** The server's 2048-bit RSA pair and an attacker's, generated on first use. */
export function rsaKeyPairs(): { server: ReturnType<typeof rsa>; attacker: ReturnType<typeof rsa> } {
  rsaKeys ??= { server: rsa(), attacker: rsa() };
  return rsaKeys;
}
