import type { JWK } from 'jose';
import { MalconfiguredError } from '../errors/jwt-sessions.errors.js';
import type { JwtAlgorithm, SigningKeyOptions } from '../interfaces/jwt-sessions-options.interface.js';
import { SUPPORTED_ALGORITHMS } from './algorithms.js';
import { importSigningKey, type ImportedKey } from './signing-keys.js';

/** What a `kid` may be: printable ASCII without spaces, short; it is only ever compared, never used as a path or URL. */
const KID = /^[\x21-\x7e]{1,128}$/;
const ENTRY_FIELDS = new Set(['kid', 'algorithm', 'signingKey', 'privateKey', 'publicKey']);

/** A JSON Web Key Set of the public verification keys (RFC 7517 §5). @publicApi */
export interface JsonWebKeySet {
  keys: JWK[];
}

/** The signing key plus the keys that verify: the current key signs, every configured key verifies its own tokens. @internal */
export interface Keyring {
  /** The current key: the first one configured. */
  readonly signer: ImportedKey & { signKey: NonNullable<ImportedKey['signKey']> };
  /** The key a token's `kid` header names (a token without `kid` matches the key configured without one). */
  verifierFor(kid: string | undefined): ImportedKey | undefined;
  /** Public keys with their `kid`, `alg` and `use`, for a JWKS document; HMAC secrets are never in it. */
  readonly jwks: JsonWebKeySet;
}

/**
 * Imports a keyring. The first key signs; the rest only verify, so a key can be rotated without logging anyone out:
 * put the new key first and keep the old one until the last token it signed has expired. Each key keeps its own
 * algorithm, so a token is verified only with the algorithm its key was configured for.
 * @internal
 */
export async function importKeyring(entries: readonly SigningKeyOptions[], defaultAlgorithm: JwtAlgorithm): Promise<Keyring> {
  assertEntries(entries);
  const single = entries.length === 1;
  const keys = await Promise.all(entries.map((entry, index) => importSigningKey(
    { ...entry, algorithm: entry.algorithm ?? defaultAlgorithm },
    index === 0 ? 'sign' : 'verify',
    single && entry.kid === undefined ? '' : `keys[${index}].`,
  )));
  const byKid = new Map(keys.map((key) => [key.kid, key]));
  const signer = keys[0] as Keyring['signer'];
  const jwks: JsonWebKeySet = Object.freeze({
    keys: keys.filter((key) => key.publicJwk !== undefined).map((key) => Object.freeze({
      ...publicFields(key.publicJwk as JWK), ...(key.kid !== undefined ? { kid: key.kid } : {}), alg: key.algorithm, use: 'sig',
    })),
  });
  return { signer, jwks, verifierFor: (kid) => byKid.get(kid) };
}

/** Each entry an object of known fields with a supported algorithm; kids well formed and distinct. */
function assertEntries(entries: readonly SigningKeyOptions[]): void {
  if (!Array.isArray(entries) || entries.length === 0) throw new MalconfiguredError('keys must be a list of at least one key');
  const seen = new Set<string | undefined>();
  entries.forEach((entry, index) => {
    if (entry === null || typeof entry !== 'object') throw new MalconfiguredError(`keys[${index}] must be an object`);
    const unknown = Object.keys(entry).find((field) => !ENTRY_FIELDS.has(field));
    if (unknown !== undefined) throw new MalconfiguredError(`keys[${index}].${unknown} is not a key option`);
    if (entry.algorithm !== undefined && !SUPPORTED_ALGORITHMS.includes(entry.algorithm)) {
      throw new MalconfiguredError(`keys[${index}].algorithm must be one of ${SUPPORTED_ALGORITHMS.join(', ')}`);
    }
    if (entry.kid !== undefined && (typeof entry.kid !== 'string' || !KID.test(entry.kid))) {
      throw new MalconfiguredError(`keys[${index}].kid must be 1 to 128 printable ASCII characters without spaces`);
    }
    if (seen.has(entry.kid)) {
      throw new MalconfiguredError(entry.kid === undefined
        ? `keys[${index}] has no kid, and only one key may go without: give each key a kid`
        : `keys[${index}].kid "${entry.kid}" is used twice`);
    }
    seen.add(entry.kid);
  });
}

/** The public members only: a JWK export of a public key has none else, but a JWKS must never carry `d`, `p`, `q`... */
function publicFields(jwk: JWK): JWK {
  const { kty, crv, x, y, n, e } = jwk;
  return Object.fromEntries(Object.entries({ kty, crv, x, y, n, e }).filter(([, value]) => value !== undefined)) as JWK;
}
