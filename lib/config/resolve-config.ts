import { validateSync, type ValidationError } from 'class-validator';
import { MalconfiguredError } from '../errors/jwt-sessions.errors.js';
import type { JwtSessionsModuleOptions, SigningKeyOptions } from '../interfaces/jwt-sessions-options.interface.js';
import {
  DEFAULT_ACCESS_EXPIRES_IN, DEFAULT_ACCESS_HEADER, DEFAULT_ALGORITHM, DEFAULT_CSRF_HEADER,
  DEFAULT_MAX_TOKEN_LENGTH, DEFAULT_REFRESH_EXPIRES_IN, DEFAULT_VERIFIED_TOKEN_CACHE_SIZE, DEFAULT_REFRESH_GRACE, DEFAULT_REFRESH_HEADER,
} from '../jwt-sessions.constants.js';
import { importKeyring } from '../tokens/keyring.js';
import { JwtSessionsOptionsSchema, SessionCookieSchema, TokenClaimsSchema } from './jwt-sessions-options.schema.js';
import { JwtSessionsConfig, type SessionPolicy } from './jwt-sessions.config.js';
import { resolveCookies } from './resolve-cookies.js';

/**
 * Merges the gem's defaults into the options, validates them with class-validator, and imports the keys.
 * Any problem fails the app's start with a `MalconfiguredError` that names the option.
 * @internal
 */
export async function resolveJwtSessionsConfig(options: JwtSessionsModuleOptions | undefined): Promise<JwtSessionsConfig> {
  if (options === null || typeof options !== 'object') {
    throw new MalconfiguredError('JwtSessionsModule needs an options object with at least a signing key');
  }
  assertValid(options);
  const cookies = resolveCookies(options);
  const keys = await importKeyring(keyEntries(options), options.algorithm ?? DEFAULT_ALGORITHM);
  return new JwtSessionsConfig(
    keys,
    options.accessExpiresIn ?? DEFAULT_ACCESS_EXPIRES_IN,
    options.refreshExpiresIn ?? DEFAULT_REFRESH_EXPIRES_IN,
    {
      access: (options.accessHeader ?? DEFAULT_ACCESS_HEADER).toLowerCase(),
      refresh: (options.refreshHeader ?? DEFAULT_REFRESH_HEADER).toLowerCase(),
      csrf: (options.csrfHeader ?? DEFAULT_CSRF_HEADER).toLowerCase(),
    },
    cookies.names,
    Object.freeze({ ...options.verify }),
    options.maxTokenLength ?? DEFAULT_MAX_TOKEN_LENGTH,
    cookies.settings,
    resolvePolicy(options),
    options.verifiedTokenCacheSize ?? DEFAULT_VERIFIED_TOKEN_CACHE_SIZE,
  );
}

/** Session lifetimes and rotation after defaults; an idle timeout shorter than an access token would end live sessions. */
function resolvePolicy(options: JwtSessionsModuleOptions): SessionPolicy {
  const accessExpiresIn = options.accessExpiresIn ?? DEFAULT_ACCESS_EXPIRES_IN;
  if (options.idleTimeout !== undefined && options.idleTimeout <= accessExpiresIn) {
    throw new MalconfiguredError(`idleTimeout (${options.idleTimeout}) must be longer than accessExpiresIn (${accessExpiresIn}): a session is used when it refreshes`);
  }
  if (options.refreshGracePeriod !== undefined && !options.rotateRefreshTokens) {
    throw new MalconfiguredError('refreshGracePeriod applies to rotateRefreshTokens only');
  }
  return Object.freeze({
    rotateRefreshTokens: options.rotateRefreshTokens ?? false,
    refreshGracePeriod: options.refreshGracePeriod ?? DEFAULT_REFRESH_GRACE,
    idleTimeout: options.idleTimeout ?? 0,
    maxSessionsPerNamespace: options.maxSessionsPerNamespace ?? 0,
  });
}

/** The keyring as configured: `keys`, or the single key of `signingKey` / `privateKey` / `publicKey`. */
function keyEntries(options: JwtSessionsModuleOptions): SigningKeyOptions[] {
  const { signingKey, privateKey, publicKey, keys } = options;
  if (keys === undefined) return [{ signingKey, privateKey, publicKey }];
  if (signingKey !== undefined || privateKey !== undefined || publicKey !== undefined) {
    throw new MalconfiguredError('Give either keys or signingKey/privateKey/publicKey, not both');
  }
  return keys;
}

function assertValid(options: JwtSessionsModuleOptions): void {
  const { verify, cookieOptions, ...rest } = options;
  const schema = Object.assign(new JwtSessionsOptionsSchema(), rest);
  if (verify !== undefined) schema.verify = nested(new TokenClaimsSchema(), verify, 'verify');
  if (cookieOptions !== undefined) schema.cookieOptions = nested(new SessionCookieSchema(), cookieOptions, 'cookieOptions');
  const problems = validateSync(schema, { whitelist: true, forbidNonWhitelisted: true }).flatMap((error) => describe(error, ''));
  if (problems.length > 0) {
    throw new MalconfiguredError(`Invalid JwtSessionsModule options: ${problems.join('; ')}`);
  }
}

function nested<T extends object>(schema: T, value: unknown, option: string): T {
  if (value === null || typeof value !== 'object') throw new MalconfiguredError(`Invalid JwtSessionsModule options: ${option} must be an object`);
  return Object.assign(schema, value);
}

function describe(error: ValidationError, parent: string): string[] {
  const path = parent ? `${parent}.${error.property}` : error.property;
  const own = Object.values(error.constraints ?? {}).map((message) => `${path}: ${message}`);
  return [...own, ...(error.children ?? []).flatMap((child) => describe(child, path))];
}
