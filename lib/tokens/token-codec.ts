import { Injectable } from '@nestjs/common';
import { errors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { Clock, toSeconds } from '../clock/clock.js';
import { JwtSessionsConfig } from '../config/jwt-sessions.config.js';
import { ClaimsVerificationError, ExpiredError, MalconfiguredError, UnauthorizedError } from '../errors/jwt-sessions.errors.js';
import type { TokenClaimsOptions } from '../interfaces/jwt-sessions-options.interface.js';
import type { TokenType } from '../interfaces/session.interface.js';
import { MAX_LEEWAY } from '../jwt-sessions.constants.js';
import { readCompactJws } from './compact-jws.js';
import { mergeClaims } from './merge-claims.js';
import { freezePayload, VerifiedTokenCache } from './verified-token-cache.js';

/** Signed `typ` header of each token kind, so one kind is never accepted as the other. */
const TYP: Record<TokenType, string> = { access: 'at+jwt', refresh: 'rt+jwt' };

/** How a token is checked besides its signature. @internal */
export interface VerifyOptions {
  claims?: TokenClaimsOptions;
  /** Accept a token whose `exp` has passed (refresh by access); every other check still runs. */
  allowExpired?: boolean;
}

/**
 * The only place that signs and verifies tokens (through jose). Every failure becomes one of our errors:
 * Expired for `exp`, ClaimsVerification for other claims, Unauthorized for everything else.
 * @internal
 */
@Injectable()
export class TokenCodec {
  private readonly verified: VerifiedTokenCache;
  private readonly moduleChecks: Record<TokenType, Checks>;

  constructor(
    private readonly config: JwtSessionsConfig,
    private readonly clock: Clock,
  ) {
    this.verified = new VerifiedTokenCache(config.verifiedTokenCacheSize);
    this.moduleChecks = { access: checksOf('access', config.verify), refresh: checksOf('refresh', config.verify) };
  }

  /** Signs the claims; `iss` and `aud` default to the module's `verify` values, so its tokens pass its own checks. */
  sign(claims: JWTPayload, type: TokenType): Promise<string> {
    const { algorithm, signKey, kid } = this.config.keys.signer;
    const { issuer, audience } = this.config.verify;
    const stamped = {
      ...(issuer !== undefined ? { iss: Array.isArray(issuer) ? issuer[0] : issuer } : {}),
      ...(audience !== undefined ? { aud: audience } : {}),
      ...claims,
    };
    return new SignJWT(stamped).setProtectedHeader({ alg: algorithm, typ: TYP[type], ...(kid !== undefined ? { kid } : {}) }).sign(signKey);
  }

  /**
   * The payload of a token already verified under these checks (see {@link verify}), or undefined: a synchronous
   * first look, so the hot path awaits nothing when the token is known. `now` in Unix seconds: the caller's, so one
   * clock reading serves the whole check.
   */
  verifiedPayload(token: unknown, type: TokenType, claims: TokenClaimsOptions | undefined, now: number): JWTPayload | undefined {
    if (typeof token !== 'string') return undefined;
    return this.verified.get(token, this.checksFor(type, claims).key, now);
  }

  async verify(token: unknown, type: TokenType, options: VerifyOptions = {}): Promise<JWTPayload> {
    const { claims, key } = this.checksFor(type, options.claims);
    // Only tokens checked in full are cached (not those whose expiry was waived), under the checks they passed.
    const cacheable = typeof token === 'string' && !options.allowExpired;
    const cached = cacheable ? this.verified.get(token, key, this.now()) : undefined;
    if (cached !== undefined) return cached;
    const payload = freezePayload(await this.verifyFully(token, type, claims, options.allowExpired === true));
    // A token passes until its exp (plus leeway) has passed: nbf and iat, once passed, stay passed.
    if (cacheable) this.verified.set(token, key, payload, (payload.exp as number) + (claims.leeway ?? 0));
    // Every caller gets its own top-level object, cached or not; nested values are read-only either way.
    return { ...payload };
  }

  private async verifyFully(token: unknown, type: TokenType, claims: TokenClaimsOptions, allowExpired: boolean): Promise<JWTPayload> {
    const { compact, kid } = readCompactJws(token, this.config.maxTokenLength);
    // The kid only selects among configured keys; the key fixes the one algorithm accepted, whatever the token says.
    const key = this.config.keys.verifierFor(kid);
    if (key === undefined) throw new UnauthorizedError('Token cannot be verified');
    const { algorithm, verifyKey } = key;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(compact, verifyKey, {
        algorithms: [algorithm],
        typ: TYP[type],
        issuer: claims.issuer,
        audience: claims.audience,
        subject: claims.subject,
        clockTolerance: claims.leeway ?? 0,
        currentDate: new Date(this.clock.now()),
        requiredClaims: ['exp'],
      }));
    } catch (error) {
      // jose checks the signature, typ, iss, sub, aud and nbf before exp, so an expired token's payload is trustworthy.
      if (!(allowExpired && error instanceof errors.JWTExpired && error.claim === 'exp')) throw toSessionError(error);
      payload = error.payload;
    }
    assertIssuedInThePast(payload, this.clock.now(), claims.leeway ?? 0);
    return payload;
  }

  /** The module's own checks are worked out once; a call with claims of its own layers them on top. */
  private checksFor(type: TokenType, claims: TokenClaimsOptions | undefined): Checks {
    return claims === undefined ? this.moduleChecks[type] : checksOf(type, this.config.verify, claims);
  }

  private now(): number {
    return toSeconds(this.clock.now());
  }
}

/** The checks a verification runs besides the signature, and their key in the verified-token cache. */
interface Checks {
  claims: TokenClaimsOptions;
  key: string;
}

function checksOf(type: TokenType, ...layers: Array<TokenClaimsOptions | undefined>): Checks {
  const claims = mergeClaims(...layers);
  assertLeeway(claims.leeway);
  return { claims, key: `${type}\n${JSON.stringify(claims)}` };
}

/**
 * Route and call claims come from the app's code, unchecked at start as `verify` is: a leeway jose would read as a
 * duration ('30s') would make the cache's `exp + leeway` a string that never passes, and the `iat` check a no-op.
 */
function assertLeeway(leeway: unknown): void {
  if (leeway === undefined || (Number.isInteger(leeway) && (leeway as number) >= 0 && (leeway as number) <= MAX_LEEWAY)) return;
  throw new MalconfiguredError(`Token claims: leeway must be a whole number of seconds from 0 to ${MAX_LEEWAY}`);
}

/** jose checks `iat` only when given a maximum age: a token issued in the future (beyond the leeway) is refused here. */
function assertIssuedInThePast(payload: JWTPayload, nowMs: number, leeway: number): void {
  if (payload.iat !== undefined && (typeof payload.iat !== 'number' || payload.iat > Math.floor(nowMs / 1000) + leeway)) {
    throw new ClaimsVerificationError('Token claim check failed: iat');
  }
}

function toSessionError(error: unknown): UnauthorizedError {
  if (error instanceof errors.JWTExpired) return new ExpiredError('Token has expired');
  if (error instanceof errors.JWTClaimValidationFailed) return new ClaimsVerificationError(`Token claim check failed: ${error.claim}`);
  return new UnauthorizedError('Token cannot be verified');
}
