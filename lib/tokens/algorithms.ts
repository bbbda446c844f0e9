import type { JwtAlgorithm } from '../interfaces/jwt-sessions-options.interface.js';

/** Every algorithm the module signs with; `none` is deliberately absent. @internal */
export const SUPPORTED_ALGORITHMS: readonly JwtAlgorithm[] = [
  'HS256', 'HS384', 'HS512',
  'RS256', 'RS384', 'RS512',
  'PS256', 'PS384', 'PS512',
  'ES256', 'ES384', 'ES512',
  'EdDSA',
];

/** What a key for an algorithm must be: HMAC secret bytes, or an asymmetric key type and curve. @internal */
export type KeyRequirement =
  | { kind: 'secret'; hash: 'SHA-256' | 'SHA-384' | 'SHA-512'; minBytes: number }
  | { kind: 'asymmetric'; keyTypes: readonly string[]; curve?: string; minModulusBits?: number };

// Plain RSA keys serve RS* and PS* alike; Node cannot export RSA-PSS-only keys as JWK, so they are refused up front.
const RSA: KeyRequirement = { kind: 'asymmetric', keyTypes: ['rsa'], minModulusBits: 2048 };

const REQUIREMENTS: Record<JwtAlgorithm, KeyRequirement> = {
  HS256: { kind: 'secret', hash: 'SHA-256', minBytes: 32 },
  HS384: { kind: 'secret', hash: 'SHA-384', minBytes: 48 },
  HS512: { kind: 'secret', hash: 'SHA-512', minBytes: 64 },
  RS256: RSA, RS384: RSA, RS512: RSA,
  PS256: RSA, PS384: RSA, PS512: RSA,
  ES256: { kind: 'asymmetric', keyTypes: ['ec'], curve: 'prime256v1' },
  ES384: { kind: 'asymmetric', keyTypes: ['ec'], curve: 'secp384r1' },
  ES512: { kind: 'asymmetric', keyTypes: ['ec'], curve: 'secp521r1' },
  EdDSA: { kind: 'asymmetric', keyTypes: ['ed25519'] },
};

/** @internal */
export function keyRequirementOf(algorithm: JwtAlgorithm): KeyRequirement {
  return REQUIREMENTS[algorithm];
}
