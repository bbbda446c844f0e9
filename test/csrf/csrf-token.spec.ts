import { createCsrfSecret, isValidCsrf, maskCsrfSecret } from '../../lib/csrf/csrf-token.js';
import { setup } from '../support/setup.js';

/** Port of the gem's test/units/jwt_sessions/test_csrf_token.rb, plus the hostile inputs a header can carry. */

const bytesOf = (value: string) => Buffer.from(value, 'base64');

describe('CSRF token', () => {
  const secret = createCsrfSecret();

  describe('createCsrfSecret', () => {
    it('is base64 of 32 random bytes', () => {
      expect(secret).toMatch(/^[A-Za-z0-9+/]{43}=$/);
      expect(bytesOf(secret)).toHaveLength(32);
      expect(createCsrfSecret()).not.toBe(secret);
    });
  });

  describe('maskCsrfSecret', () => {
    it('gives 64 bytes of base64 that differ on every call', () => {
      const first = maskCsrfSecret(secret);
      const second = maskCsrfSecret(secret);
      expect(first).toHaveLength(88);
      expect(bytesOf(first)).toHaveLength(64);
      expect(first).not.toBe(second);
      expect(first).not.toContain(secret.slice(0, 43));
    });

    it('is the pad followed by the pad XOR the secret', () => {
      const masked = bytesOf(maskCsrfSecret(secret));
      const pad = masked.subarray(0, 32);
      const body = masked.subarray(32);
      const unmasked = Buffer.from(pad.map((byte, i) => byte ^ body[i]));
      expect(unmasked.equals(bytesOf(secret))).toBe(true);
    });
  });

  describe('isValidCsrf', () => {
    it('accepts the masked token and the raw secret (test_valid_authenticity_token)', () => {
      expect(isValidCsrf(secret, maskCsrfSecret(secret))).toBe(true);
      expect(isValidCsrf(secret, secret)).toBe(true);
    });

    it.each([
      ['nil', null],
      ['undefined', undefined],
      ['a number', 123],
      ['an object', {}],
      ['an array holding the secret', [secret]],
      ['a Buffer of the secret bytes', Buffer.from(secret, 'base64')],
      ['a short string', '123abc'],
      ['an empty string', ''],
    ])('refuses %s without throwing', (_name, presented) => {
      expect(isValidCsrf(secret, presented)).toBe(false);
    });

    it('refuses another secret, raw or masked', () => {
      const other = createCsrfSecret();
      expect(isValidCsrf(secret, other)).toBe(false);
      expect(isValidCsrf(secret, maskCsrfSecret(other))).toBe(false);
    });

    it('refuses a masked token with one byte changed, in the pad or in the body', () => {
      const masked = bytesOf(maskCsrfSecret(secret));
      for (const index of [0, 31, 32, 63]) {
        const tampered = Buffer.from(masked);
        tampered[index] ^= 1;
        expect(isValidCsrf(secret, tampered.toString('base64'))).toBe(false);
      }
    });

    it.each([
      ['a value too short (16 bytes)', () => bytesOf(secret).subarray(0, 16).toString('base64')],
      ['a value between raw and masked (48 bytes)', () => bytesOf(maskCsrfSecret(secret)).subarray(0, 48).toString('base64')],
      ['a value too long (masked plus one byte)', () => Buffer.concat([bytesOf(maskCsrfSecret(secret)), Buffer.alloc(1)]).toString('base64')],
      ['the secret twice over', () => secret + secret],
      ['the secret unpadded', () => secret.replace(/=+$/, '')],
      ['the secret with a trailing newline', () => `${secret}\n`],
      ['the secret with surrounding spaces', () => ` ${secret} `],
      ['a value that is not base64', () => `${'!'.repeat(43)}=`],
      ['base64 with padding in the middle', () => `${secret.slice(0, 20)}==${secret.slice(22)}`],
      ['a one-megabyte value', () => 'A'.repeat(1024 * 1024)],
      ['one megabyte of the secret repeated', () => secret.repeat(Math.ceil((1024 * 1024) / secret.length))],
    ])('refuses %s without throwing', (_name, make) => {
      expect(() => isValidCsrf(secret, make())).not.toThrow();
      expect(isValidCsrf(secret, make())).toBe(false);
    });

    it('refuses everything when the stored secret itself is malformed', () => {
      expect(isValidCsrf('abc=', 'abc=')).toBe(false);
      expect(isValidCsrf('', '')).toBe(false);
      const short = Buffer.alloc(16, 7).toString('base64');
      expect(isValidCsrf(short, short)).toBe(false);
    });
  });

  describe('through the session service', () => {
    it('accepts the CSRF token of the session and refuses that of another session', async () => {
      const { sessions } = await setup();
      const mine = await sessions.login({ payload: { user_id: 1 } });
      const theirs = await sessions.login({ payload: { user_id: 1 } });
      expect(await sessions.isValidCsrf(mine.access, mine.csrf)).toBe(true);
      expect(await sessions.isValidCsrf(mine.access, theirs.csrf)).toBe(false);
      expect(await sessions.isValidCsrf(mine.access, await sessions.maskedCsrf(theirs.access))).toBe(false);
      expect(await sessions.isValidCsrf(mine.access, 'A'.repeat(1024 * 1024))).toBe(false);
    });
  });
});
