import {
  Allow, IsBoolean, IsIn, IsInt, IsNotEmpty, IsOptional, IsString, Matches, Max, Min, ValidateBy, ValidateNested,
} from 'class-validator';
import type { JwtAlgorithm, TokenClaimsOptions } from '../interfaces/jwt-sessions-options.interface.js';
import { MAX_LEEWAY, MAX_LIFETIME, MAX_REFRESH_GRACE } from '../jwt-sessions.constants.js';
import { SUPPORTED_ALGORITHMS } from '../tokens/algorithms.js';

/** RFC 7230 token characters: what a header name may be. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** RFC 6265 cookie-name: a token as well. */
const COOKIE_NAME = HEADER_NAME;
/** RFC 6265 path-value: any CHAR but controls and `;`, here also no spaces, and absolute. */
const COOKIE_PATH = /^\/[\x21-\x3a\x3c-\x7e]*$/;

/** One non-empty string or a non-empty list of them (issuer, audience). */
function IsStringOrList(): PropertyDecorator {
  return ValidateBy({
    name: 'isStringOrList',
    validator: {
      validate: (value: unknown) => typeof value === 'string' ? value.length > 0
        : Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === 'string' && item.length > 0),
      defaultMessage: (args) => `${args?.property} must be a non-empty string or a non-empty list of strings`,
    },
  });
}

/** A list of serialized origins, each exactly as a browser sends it in `Origin` (scheme, host, port if not default). */
function IsOriginList(): PropertyDecorator {
  return ValidateBy({
    name: 'isOriginList',
    validator: {
      validate: (value: unknown) => Array.isArray(value) && value.every((item) => typeof item === 'string' && isSerializedOrigin(item)),
      defaultMessage: (args) => `${args?.property} must be a list of origins such as https://app.example.com`,
    },
  });
}

function isSerializedOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value;
  } catch {
    return false;
  }
}

/** @internal class-validator rules for `verify` and per-route claims. */
export class TokenClaimsSchema implements TokenClaimsOptions {
  @IsOptional() @IsStringOrList()
  issuer?: string | string[];

  @IsOptional() @IsStringOrList()
  audience?: string | string[];

  @IsOptional() @IsString() @IsNotEmpty()
  subject?: string;

  @IsOptional() @IsInt() @Min(0) @Max(MAX_LEEWAY)
  leeway?: number;
}

/** @internal class-validator rules for `cookieOptions`. */
export class SessionCookieSchema {
  @IsOptional() @IsBoolean()
  secure?: boolean;

  @IsOptional() @IsIn(['lax', 'strict', 'none'])
  sameSite?: 'lax' | 'strict' | 'none';

  @IsOptional() @IsBoolean()
  hostPrefix?: boolean;

  @IsOptional() @Matches(COOKIE_PATH, { message: 'refreshPath must be an absolute path without spaces, semicolons or control characters' })
  refreshPath?: string;

  @IsOptional() @IsBoolean()
  rejectCrossSite?: boolean;

  @IsOptional() @IsOriginList()
  trustedOrigins?: string[];
}

/**
 * @internal class-validator rules for the options. Keys and store are checked where they are used (`@Allow`);
 * any option not listed here is refused, so a misspelt one cannot silently fall back to its default.
 */
export class JwtSessionsOptionsSchema {
  @Allow() signingKey?: unknown;
  @Allow() privateKey?: unknown;
  @Allow() publicKey?: unknown;
  @Allow() keys?: unknown;
  @Allow() clock?: unknown;
  @Allow() store?: unknown;

  @IsOptional() @IsIn(SUPPORTED_ALGORITHMS, { message: `algorithm must be one of ${SUPPORTED_ALGORITHMS.join(', ')}` })
  algorithm?: JwtAlgorithm;

  @IsOptional() @IsInt() @Min(1) @Max(MAX_LIFETIME)
  accessExpiresIn?: number;

  @IsOptional() @IsInt() @Min(1) @Max(MAX_LIFETIME)
  refreshExpiresIn?: number;

  @IsOptional() @IsBoolean()
  rotateRefreshTokens?: boolean;

  @IsOptional() @IsInt() @Min(0) @Max(MAX_REFRESH_GRACE)
  refreshGracePeriod?: number;

  @IsOptional() @IsInt() @Min(1) @Max(MAX_LIFETIME)
  idleTimeout?: number;

  @IsOptional() @IsInt() @Min(1) @Max(100_000)
  maxSessionsPerNamespace?: number;

  @IsOptional() @Matches(HEADER_NAME)
  accessHeader?: string;

  @IsOptional() @Matches(HEADER_NAME)
  refreshHeader?: string;

  @IsOptional() @Matches(HEADER_NAME)
  csrfHeader?: string;

  @IsOptional() @Matches(COOKIE_NAME)
  accessCookie?: string;

  @IsOptional() @Matches(COOKIE_NAME)
  refreshCookie?: string;

  @IsOptional() @IsInt() @Min(256) @Max(65536)
  maxTokenLength?: number;

  @IsOptional() @IsInt() @Min(0) @Max(1_000_000)
  verifiedTokenCacheSize?: number;

  @IsOptional() @ValidateNested()
  verify?: TokenClaimsSchema;

  @IsOptional() @ValidateNested()
  cookieOptions?: SessionCookieSchema;
}
