import { afterAll, beforeAll, expect } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { Redis } from 'ioredis';
import request from 'supertest';
import { Clock } from '../../../lib/index.js';
import { AppModule } from '../../../sample/app.module.js';
import { ManualClock } from '../../support/manual-clock.js';

export type Response = request.Response;

/** A 32+ character HS256 key, so the sample does not warn about a generated one. */
export const E2E_SIGNING_KEY = 'e2e-signing-key-0123456789abcdef-0123456789';

/** The contract's defaults. */
export const ACCESS_EXP = 3600;
export const REFRESH_EXP = 604800;

/** The seeded user (contract defaults `SAMPLE_USER_EMAIL` / `SAMPLE_USER_PASSWORD`); it is user 1. */
export const SEEDED_USER = { id: 1, email: 'user@example.com', password: 'password123' } as const;

/** The gem's token JSON keys, sorted. */
export const LOGIN_KEYS = ['access', 'access_expires_at', 'csrf', 'refresh', 'refresh_expires_at'];
export const REFRESH_KEYS = ['access', 'access_expires_at', 'csrf'];

/** The HTTP adapters the sample runs on (`SAMPLE_ADAPTER`); every e2e suite runs once on each. */
export const ADAPTERS = ['express', 'fastify'] as const;
export type SampleAdapter = (typeof ADAPTERS)[number];

/** Environment overrides for a boot; `undefined` removes a variable. */
export type SampleEnv = Record<string, string | undefined> & { SAMPLE_ADAPTER?: SampleAdapter };

/** Default cookie names. */
export const ACCESS_COOKIE = 'jwt_access';
export const REFRESH_COOKIE = 'jwt_refresh';

/** Tokens as the JSON body of a login answers them. */
export interface LoginTokens {
  access: string;
  access_expires_at: string;
  csrf: string;
  refresh: string;
  refresh_expires_at: string;
}

export interface RefreshTokens {
  access: string;
  access_expires_at: string;
  csrf: string;
}

export interface SampleApp {
  app: INestApplication;
  clock: ManualClock;
  /** A fresh supertest client on the app's HTTP server. */
  http: () => ReturnType<typeof request>;
  close: () => Promise<void>;
}

/**
 * Environment the sample reads, pinned for the tests: the memory store, the contract's default lifetimes and
 * seeded user, no refresh-token rotation, and a fixed signing key. `undefined` removes a variable.
 */
const BASE_ENV: Record<string, string | undefined> = {
  JWT_SIGNING_KEY: E2E_SIGNING_KEY,
  JWT_SESSIONS_STORE: 'memory',
  REDIS_URL: undefined,
  REDIS_CLUSTER_NODES: undefined,
  JWT_ACCESS_EXP: undefined,
  JWT_REFRESH_EXP: undefined,
  JWT_ROTATE_REFRESH: undefined,
  JWT_REFRESH_GRACE: undefined,
  SAMPLE_USER_EMAIL: undefined,
  SAMPLE_USER_PASSWORD: undefined,
  SAMPLE_ADAPTER: undefined,
  NODE_ENV: 'test',
};

/**
 * Boots the sample's AppModule in a testing module with a manual clock, on a real HTTP server: Express, or Fastify
 * when `SAMPLE_ADAPTER` is `fastify`.
 * The environment is set only while the app is built, then restored.
 */
export async function bootSampleApp(env: SampleEnv = {}): Promise<SampleApp> {
  // Redis expires keys by its own clock, so the manual clock starts at the real time.
  const clock = new ManualClock(Math.floor(Date.now() / 1000) * 1000);
  const overrides = { ...BASE_ENV, ...(await storeEnv()), ...env };
  const saved = Object.fromEntries(Object.keys(overrides).map((name) => [name, process.env[name]]));
  applyEnv(overrides);
  let app: INestApplication;
  try {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
      .overrideProvider(Clock)
      .useValue(clock)
      .compile();
    app = overrides.SAMPLE_ADAPTER === 'fastify'
      ? moduleRef.createNestApplication(new FastifyAdapter(), { logger: false })
      : moduleRef.createNestApplication({ logger: false });
    await app.init();
    // Fastify answers only once its plugins are ready.
    if (overrides.SAMPLE_ADAPTER === 'fastify') await (app.getHttpAdapter().getInstance() as { ready(): Promise<unknown> }).ready();
  } finally {
    applyEnv(saved);
  }
  const server = app.getHttpServer();
  return { app, clock, http: () => request(server), close: () => app.close() };
}

/**
 * The store the suite runs on: memory, or Redis when the e2e project for Redis started a server for this file
 * (test/e2e/support/redis-store.setup.ts); each boot then starts from an empty Redis.
 */
async function storeEnv(): Promise<Record<string, string>> {
  const url = process.env.E2E_REDIS_URL;
  if (!url) return {};
  const admin = new Redis(url);
  await admin.flushall();
  admin.disconnect();
  return { JWT_SESSIONS_STORE: 'redis', REDIS_URL: url };
}

function applyEnv(values: Record<string, string | undefined>): void {
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
}

/**
 * One sample app for the enclosing describe block: booted before its tests, closed after them.
 * The object it answers reaches the app once booted.
 */
export function useSampleApp(env: SampleEnv = {}): SampleApp {
  let booted: SampleApp | undefined;
  beforeAll(async () => {
    booted = await bootSampleApp(env);
  });
  afterAll(async () => {
    await booted?.close();
  });
  const current = (): SampleApp => {
    if (!booted) throw new Error('The sample app is booted in beforeAll: use it inside tests and hooks');
    return booted;
  };
  return {
    get app() { return current().app; },
    get clock() { return current().clock; },
    http: () => current().http(),
    close: () => current().close(),
  };
}

/** A `Cookie` request header. */
export function cookieHeader(cookies: Record<string, string | number>): string {
  return Object.entries(cookies).map(([name, value]) => `${name}=${value}`).join('; ');
}

/** The payload of a JWT, decoded without verification: for assertions only. */
export function decodePayload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** The same token with its payload replaced and its signature kept: a forgery. */
export function forgePayload(token: string, changes: Record<string, unknown>): string {
  const [header, payload, signature] = token.split('.');
  const forged = { ...JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')), ...changes };
  return [header, Buffer.from(JSON.stringify(forged)).toString('base64url'), signature].join('.');
}

/** A CSRF token of the right shape (64 random bytes, base64) that belongs to no session. */
export function foreignCsrf(): string {
  return Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 37 + 11) % 256)).toString('base64');
}

/** Asserts the contract's authorization failure: 401 with a JSON body whose `error` is "Unauthorized". */
export function expectUnauthorized(response: Response): void {
  expect({ status: response.status, error: response.body?.error }).toEqual({ status: 401, error: 'Unauthorized' });
  expect(response.headers['content-type']).toMatch(/^application\/json/);
}

/** Asserts a 400 answer (malformed request). */
export function expectBadRequest(response: Response): void {
  expect(response.status).toBe(400);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
}

/** Asserts a successful POST: 200 as the gem answers, or 201 (both allowed by the contract). */
export function expectCreatedOrOk(response: Response): void {
  expect([200, 201]).toContain(response.status);
}

/** Asserts the body is a login answer with exactly the gem's keys and ISO 8601 expiries. */
export function expectLoginTokens(body: unknown): asserts body is LoginTokens {
  expect(Object.keys(body as object).sort()).toEqual(LOGIN_KEYS);
  const tokens = body as LoginTokens;
  expectIsoDate(tokens.access_expires_at);
  expectIsoDate(tokens.refresh_expires_at);
}

/** Asserts the body is a refresh answer with exactly the gem's keys. */
export function expectRefreshTokens(body: unknown): asserts body is RefreshTokens {
  expect(Object.keys(body as object).sort()).toEqual(REFRESH_KEYS);
  expectIsoDate((body as RefreshTokens).access_expires_at);
}

export function expectIsoDate(value: unknown): void {
  expect(typeof value).toBe('string');
  expect(new Date(value as string).toISOString()).toBe(value);
}

/** POST /login (the Rails example) with the seeded user, or other credentials; answers the tokens. */
export async function loginUser(sample: SampleApp, credentials: { email: string; password: string } = SEEDED_USER): Promise<LoginTokens> {
  const response = await sample.http().post('/login').send({ email: credentials.email, password: credentials.password });
  expectCreatedOrOk(response);
  expectLoginTokens(response.body);
  return response.body;
}

/** A Sinatra login route (POST /api/v1/login by default); answers the tokens. */
export async function loginSinatra(sample: SampleApp, route = '/api/v1/login'): Promise<LoginTokens> {
  const response = await sample.http().post(route);
  expectCreatedOrOk(response);
  expectLoginTokens(response.body);
  return response.body;
}

/** Creates a user through POST /users, authenticated as the seeded user by header; answers its id. */
export async function createUser(sample: SampleApp, email: string, password = 'password456'): Promise<number> {
  const { access } = await loginUser(sample);
  const response = await sample.http().post('/users').set('Authorization', `Bearer ${access}`).send({ user: { email, password } });
  expectCreatedOrOk(response);
  return (response.body as { user: { id: number } }).user.id;
}

/** One Set-Cookie line, parsed. */
export interface SetCookie {
  value: string;
  /** Attributes as written (e.g. `HttpOnly`, `Path=/`), keyed by their lower-cased name. */
  attributes: Map<string, string>;
}

/** The Set-Cookie lines of a response, by cookie name (the last line wins). */
export function setCookies(response: Response): Record<string, SetCookie> {
  const raw = response.headers['set-cookie'] as unknown;
  const lines = raw === undefined ? [] : Array.isArray(raw) ? (raw as string[]) : [String(raw)];
  const cookies: Record<string, SetCookie> = {};
  for (const line of lines) {
    const [pair, ...attributeParts] = line.split(';').map((part) => part.trim());
    const index = pair.indexOf('=');
    const attributes = new Map<string, string>();
    for (const part of attributeParts) {
      const eq = part.indexOf('=');
      attributes.set((eq === -1 ? part : part.slice(0, eq)).toLowerCase(), eq === -1 ? '' : part.slice(eq + 1));
    }
    cookies[pair.slice(0, index)] = { value: decodeURIComponent(pair.slice(index + 1)), attributes };
  }
  return cookies;
}

/** Seconds of the manual clock, as JWT claims count them. */
export function nowSeconds(sample: SampleApp): number {
  return Math.floor(sample.clock.now() / 1000);
}
