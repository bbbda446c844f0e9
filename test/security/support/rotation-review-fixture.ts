/**
 * Fixture of the rotation review (test/security/rotation-review.spec.ts): tokens signed by hand with the test key
 * (what an older or newer version of the module, or a holder of the key, could have issued), a dump of the Redis
 * keys with their TTLs, and the sample app booted on either store with rotation on.
 */
import { createHmac } from 'node:crypto';
import type { Redis } from 'ioredis';
import { TEST_SIGNING_KEY } from '../../support/setup.js';
import { bootSampleApp, type SampleApp } from '../../e2e/support/sample-app.js';

/** The signed `typ` of each token kind (lib/tokens/token-codec.ts). */
const TYP = { access: 'at+jwt', refresh: 'rt+jwt' } as const;

/** An HS256 token over any claims, signed with the key `setup()` configures: it passes the signature check. */
export function signWithTestKey(kind: 'access' | 'refresh', claims: Record<string, unknown>): string {
  const segment = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${segment({ alg: 'HS256', typ: TYP[kind] })}.${segment(claims)}`;
  return `${input}.${createHmac('sha256', TEST_SIGNING_KEY).update(input).digest('base64url')}`;
}

/** The payload of a JWT, decoded without verification. */
export function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** The same token with its payload changed and its signature kept: a forgery. */
export function forge(token: string, changes: Record<string, unknown>): string {
  const [header, , signature] = token.split('.');
  return [header, Buffer.from(JSON.stringify({ ...claimsOf(token), ...changes })).toString('base64url'), signature].join('.');
}

/** One Redis key: its type and its TTL in seconds (-1 none, -2 gone). */
export interface KeyInfo {
  key: string;
  type: string;
  ttl: number;
}

/** Every key in the test Redis, with type and TTL, sorted by name. */
export async function dumpKeys(admin: Redis): Promise<KeyInfo[]> {
  const keys = (await admin.keys('*')).sort();
  const out: KeyInfo[] = [];
  for (const key of keys) out.push({ key, type: await admin.type(key), ttl: await admin.ttl(key) });
  return out;
}

/** The successors keys (`jwt_g:{tag}.<id>`) and what they hold. */
export async function successorValues(admin: Redis): Promise<string[]> {
  const values: string[] = [];
  for (const key of await admin.keys('jwt_g:*')) values.push(...(await admin.lrange(key, 0, -1)));
  return values;
}

/**
 * The invariants of the Redis layout: every key has a TTL; a session's successors key never outlives its session
 * key; a successors key never exists without its session. Answers the violations, described.
 */
export async function layoutViolations(admin: Redis): Promise<string[]> {
  const keys = await dumpKeys(admin);
  const byName = new Map(keys.map((info) => [info.key, info]));
  const violations: string[] = [];
  for (const info of keys) {
    if (info.ttl === -1) violations.push(`${info.key} has no TTL`);
    if (info.key.startsWith('jwt_g:')) {
      const session = byName.get(`jwt_s:${info.key.slice('jwt_g:'.length)}`);
      if (!session) violations.push(`${info.key} outlives its session`);
      else if (session.ttl !== -1 && info.ttl > session.ttl) violations.push(`${info.key} TTL ${info.ttl} > session TTL ${session.ttl}`);
    }
  }
  return violations;
}

/** The sample app with rotation on, on the memory store or on the given Redis. */
export function bootRotationSample(redisUrl: string | undefined, env: Record<string, string> = {}): Promise<SampleApp> {
  return bootSampleApp({
    JWT_ROTATE_REFRESH: '1',
    ...(redisUrl ? { JWT_SESSIONS_STORE: 'redis', REDIS_URL: redisUrl } : {}),
    ...env,
  });
}
