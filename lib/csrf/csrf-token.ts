import { randomBytes, timingSafeEqual } from 'node:crypto';

/** Bytes of a CSRF secret, as in the gem. */
const CSRF_LENGTH = 32;
/** Base64 with padding, in the shape `Buffer#toString('base64')` writes. */
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** A masked token is pad + masked secret: 64 bytes, 88 base64 characters; nothing longer is ever decoded. */
const MAX_ENCODED_LENGTH = 88;

/** A fresh CSRF secret (base64 of 32 random bytes), stored with the session. @internal */
export function createCsrfSecret(): string {
  return randomBytes(CSRF_LENGTH).toString('base64');
}

/**
 * The secret masked with a one-time pad (pad + pad XOR secret, base64), so each response carries
 * different bytes and BREACH cannot recover the secret from compressed responses. @internal
 */
export function maskCsrfSecret(secret: string): string {
  const raw = Buffer.from(secret, 'base64');
  const pad = randomBytes(CSRF_LENGTH);
  return Buffer.concat([pad, xor(pad, raw)]).toString('base64');
}

/**
 * Whether `presented` matches the secret, masked or raw (the gem accepts both). Never throws: a value of
 * the wrong type, length or alphabet is simply false. The comparison itself is constant-time.
 * @internal
 */
export function isValidCsrf(secret: string, presented: unknown): boolean {
  if (typeof secret !== 'string' || typeof presented !== 'string' || presented.length === 0 || presented.length > MAX_ENCODED_LENGTH) return false;
  if (!STRICT_BASE64.test(presented)) return false;
  const decoded = Buffer.from(presented, 'base64');
  // The alphabet alone lets unused bits of the last character vary: only the one spelling of the bytes is accepted.
  if (decoded.toString('base64') !== presented) return false;
  const raw = Buffer.from(secret, 'base64');
  if (raw.length !== CSRF_LENGTH) return false;
  if (decoded.length === CSRF_LENGTH) return timingSafeEqual(decoded, raw);
  if (decoded.length === CSRF_LENGTH * 2) {
    return timingSafeEqual(xor(decoded.subarray(0, CSRF_LENGTH), decoded.subarray(CSRF_LENGTH)), raw);
  }
  return false;
}

function xor(a: Uint8Array, b: Uint8Array): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] ^ b[i];
  return out;
}
