import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { SuccessorTokens } from '../store/stored-session.js';

const INFO = 'nestjs-jwt-sessions rotation successors';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * The successor tokens a rotation keeps for its grace window, sealed (AES-256-GCM) under a key derived (HKDF-SHA256)
 * from the token that was presented, which the store never sees: whoever reads the store (a replica, a dump,
 * MONITOR) holds no usable token, and only a repeat of that very token can open them.
 * @internal
 */
export function sealSuccessors(tokens: SuccessorTokens, presentedToken: string, sessionId: string): SuccessorTokens {
  const key = keyFor(presentedToken, sessionId);
  return { access: seal(tokens.access, key), refresh: seal(tokens.refresh, key) };
}

/** The successors, or null when they were not sealed for this token (another token of the session presented them). @internal */
export function openSuccessors(sealed: SuccessorTokens, presentedToken: string, sessionId: string): SuccessorTokens | null {
  const key = keyFor(presentedToken, sessionId);
  try {
    return { access: open(sealed.access, key), refresh: open(sealed.refresh, key) };
  } catch {
    return null;
  }
}

function keyFor(presentedToken: string, sessionId: string): Buffer {
  return Buffer.from(hkdfSync('sha256', presentedToken, sessionId, INFO, 32));
}

function seal(text: string, key: Buffer): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
}

function open(sealed: string, key: Buffer): string {
  const bytes = Buffer.from(sealed, 'base64url');
  const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES));
  decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
  return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]).toString('utf8');
}
