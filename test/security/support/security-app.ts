/**
 * A real Nest app for HTTP-level security tests: the module under test with a manual clock, a controller that
 * exercises every guard and param decorator, and a counter on every TokenStore method, so a test can prove that a
 * hostile request was refused with 401 before the store was asked anything and that nothing in the store changed.
 */
import { afterAll, beforeAll, expect, jest } from '@jest/globals';
import { Body, Controller, Get, HttpCode, Post, Res, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import {
  AccessAuth, ClaimlessPayload, Clock, JwtSessionsModule, MemoryTokenStore,
  SessionService, TokenPayload, TokenStore, type JwtSessionsModuleOptions,
  type SessionTokens, type StoredSession,
} from '../../../lib/index.js';
import { ManualClock } from '../../support/manual-clock.js';
import { RefreshRoutes } from './refresh-routes.js';

/** An HS256 secret of exactly 32 bytes (so it can double as an A256GCM key in the JWE tests). */
export const SECURITY_HS256_KEY = 'security-hs256-key-0123456789abc';

/** The namespace every login of the fixture uses unless told otherwise. */
export const DEFAULT_NAMESPACE = 'user-1';

/** Every TokenStore method the fixture counts. */
export const STORE_METHODS = [
  'create', 'find', 'relink', 'relinkByRefreshToken', 'rotate', 'delete', 'list', 'deleteNamespace', 'unlinkNamespaceAccess', 'deleteAll',
  'createSessionId',
] as const;
export type StoreMethod = (typeof STORE_METHODS)[number];
export type StoreCalls = Record<StoreMethod, number>;

/** No call at all, as `calls()` answers it: what a hostile request must leave. */
export const NO_STORE_CALLS: StoreCalls = Object.fromEntries(STORE_METHODS.map((method) => [method, 0])) as StoreCalls;

/** What POST /login takes: the access payload, the namespace and whether refresh by access is allowed. */
interface LoginBody {
  payload?: Record<string, unknown>;
  namespace?: string;
  refreshByAccessAllowed?: boolean;
  accessExpiresIn?: number;
}

@Controller()
class SecurityTestController extends RefreshRoutes {
  /** Starts a session; answers the tokens as JSON and sets the session cookies. */
  @Post('login')
  @HttpCode(200)
  async login(@Body() body: LoginBody, @Res({ passthrough: true }) response: unknown): Promise<SessionTokens> {
    const tokens = await this.sessions.login({
      payload: body?.payload ?? { user_id: 1, role: 'user' },
      namespace: body?.namespace ?? DEFAULT_NAMESPACE,
      refreshByAccessAllowed: body?.refreshByAccessAllowed ?? true,
      accessExpiresIn: body?.accessExpiresIn,
    });
    this.cookies.set(response, tokens);
    return tokens;
  }

  @Get('access')
  @AccessAuth()
  readAccess(@TokenPayload() payload: Record<string, unknown>): Record<string, unknown> {
    return payload;
  }

  @Post('access')
  @HttpCode(200)
  @AccessAuth()
  writeAccess(@TokenPayload() payload: Record<string, unknown>): Record<string, unknown> {
    return payload;
  }


  /** Unguarded: what `@ClaimlessPayload()` gives without a guard (it must be `{}`, never a forged payload). */
  @Get('claimless')
  claimless(@ClaimlessPayload() payload: Record<string, unknown>): { payload: Record<string, unknown> } {
    return { payload };
  }

  /** Unguarded: `@TokenPayload()` verifies whatever access token the request carries. */
  @Get('whoami')
  whoami(@TokenPayload() payload: Record<string, unknown>): { payload: Record<string, unknown> } {
    return { payload };
  }
}

/** A decoded JWT segment (header or payload), for copying real claims into forgeries. */
export type JsonObject = Record<string, unknown>;

/** A login made over HTTP, with what the forgeries copy from it. */
export interface HttpLogin {
  tokens: { csrf: string; access: string; access_expires_at: string; refresh: string; refresh_expires_at: string };
  /** The cookies the login set, by name. */
  cookies: Record<string, string>;
  accessHeader: JsonObject;
  accessClaims: JsonObject;
  refreshHeader: JsonObject;
  refreshClaims: JsonObject;
}

/** Every session the store holds, deep-copied and sorted: equal snapshots mean nothing was written. */
export type StoreSnapshot = StoredSession[];

export interface SecurityApp {
  app: INestApplication;
  clock: ManualClock;
  store: TokenStore;
  sessions: SessionService;
  /** A fresh supertest client on the app's server. */
  http: () => ReturnType<typeof request>;
  /** Calls per store method since the last `resetCalls()`. */
  calls: () => StoreCalls;
  resetCalls: () => void;
  /** The manual clock in whole seconds, as JWT claims count time. */
  nowSeconds: () => number;
  /** POST /login; answers the tokens and their decoded headers and claims. */
  login: (body?: LoginBody) => Promise<HttpLogin>;
  /** Every stored session, read without going through the counted methods. */
  snapshot: () => StoreSnapshot;
  /** Live sessions of a namespace, read without going through the counted methods. */
  sessionsIn: (namespace?: string) => Promise<StoredSession[]>;
  close: () => Promise<void>;
}

/** Decodes one base64url JSON segment of a JWT (no verification: for copying and assertions only). */
export function decodeSegment(token: string, index: 0 | 1): JsonObject {
  return JSON.parse(Buffer.from(token.split('.')[index], 'base64url').toString('utf8')) as JsonObject;
}

/**
 * Boots the module with these options (no default key is added: pass `signingKey` or `privateKey` yourself), a
 * manual clock and the test controller, and spies on every method of the store instance the app uses.
 */
export async function bootSecurityApp(options: JwtSessionsModuleOptions, clock = new ManualClock()): Promise<SecurityApp> {
  const moduleRef = await Test.createTestingModule({
    imports: [JwtSessionsModule.forRoot(options)],
    controllers: [SecurityTestController],
  })
    .overrideProvider(Clock)
    .useValue(clock)
    .compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  const store = app.get(TokenStore);
  if (!(store instanceof MemoryTokenStore)) throw new Error('The security fixture reads the memory store directly');
  // The real methods, captured before the spies, so snapshots do not count as calls.
  const unspiedList = store.list.bind(store);
  const methods = store as unknown as Record<StoreMethod, (...args: unknown[]) => unknown>;
  const spies = STORE_METHODS.map((method) => [method, jest.spyOn(methods, method)] as const);
  const server = app.getHttpServer();
  const http = () => request(server);
  const nowSeconds = () => Math.floor(clock.now() / 1000);

  const snapshot = (): StoreSnapshot => {
    // The memory store's own map: reading it evicts nothing and calls no method.
    const map = (store as unknown as { sessions: Map<string, StoredSession> }).sessions;
    return [...map.values()].map((session) => ({ ...session })).sort((a, b) => a.uid.localeCompare(b.uid));
  };

  const login = async (body: LoginBody = {}): Promise<HttpLogin> => {
    const response = await http().post('/login').send(body);
    if (response.status !== 200) throw new Error(`POST /login answered ${response.status}: ${JSON.stringify(response.body)}`);
    const tokens = response.body as HttpLogin['tokens'];
    return {
      tokens,
      cookies: setCookieValues(response),
      accessHeader: decodeSegment(tokens.access, 0),
      accessClaims: decodeSegment(tokens.access, 1),
      refreshHeader: decodeSegment(tokens.refresh, 0),
      refreshClaims: decodeSegment(tokens.refresh, 1),
    };
  };

  return {
    app,
    clock,
    store,
    sessions: app.get(SessionService),
    http,
    calls: () => Object.fromEntries(spies.map(([method, spy]) => [method, spy.mock.calls.length])) as StoreCalls,
    resetCalls: () => spies.forEach(([, spy]) => spy.mockClear()),
    nowSeconds,
    login,
    snapshot,
    sessionsIn: (namespace = DEFAULT_NAMESPACE) => unspiedList(namespace, nowSeconds()),
    close: async () => {
      spies.forEach(([, spy]) => spy.mockRestore());
      await app.close();
    },
  };
}

/**
 * One app for the enclosing describe block, booted in beforeAll (options may be computed then, e.g. from keys
 * generated in an earlier hook) and closed in afterAll.
 */
export function useSecurityApp(options: JwtSessionsModuleOptions | (() => JwtSessionsModuleOptions)): SecurityApp {
  let booted: SecurityApp | undefined;
  beforeAll(async () => {
    booted = await bootSecurityApp(typeof options === 'function' ? options() : options);
  });
  afterAll(async () => {
    await booted?.close();
  });
  const current = (): SecurityApp => {
    if (!booted) throw new Error('The security app is booted in beforeAll: use it inside tests and hooks');
    return booted;
  };
  return {
    get app() { return current().app; },
    get clock() { return current().clock; },
    get store() { return current().store; },
    get sessions() { return current().sessions; },
    http: () => current().http(),
    calls: () => current().calls(),
    resetCalls: () => current().resetCalls(),
    nowSeconds: () => current().nowSeconds(),
    login: (body) => current().login(body),
    snapshot: () => current().snapshot(),
    sessionsIn: (namespace) => current().sessionsIn(namespace),
    close: () => current().close(),
  };
}

/** The Set-Cookie values of a response, by name. */
export function setCookieValues(response: request.Response): Record<string, string> {
  const raw = response.headers['set-cookie'] as unknown;
  const lines = raw === undefined ? [] : Array.isArray(raw) ? (raw as string[]) : [String(raw)];
  const cookies: Record<string, string> = {};
  for (const line of lines) {
    const pair = line.split(';')[0];
    const index = pair.indexOf('=');
    cookies[pair.slice(0, index)] = decodeURIComponent(pair.slice(index + 1));
  }
  return cookies;
}

/** The error codes a token problem may be answered with: all 401. */
export const UNAUTHORIZED_CODES = [
  'ERR_JWT_SESSIONS_UNAUTHORIZED',
  'ERR_JWT_SESSIONS_CLAIMS_VERIFICATION',
  'ERR_JWT_SESSIONS_EXPIRED',
  'ERR_JWT_SESSIONS_INVALID_PAYLOAD',
];

/** Asserts a 401 JSON answer of the module (never 500, never 2xx), optionally with a given error code. */
export function expectUnauthorized(response: request.Response, code?: string): void {
  expect({ status: response.status, error: response.body?.error }).toEqual({ status: 401, error: 'Unauthorized' });
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  expect(UNAUTHORIZED_CODES).toContain(response.body?.code);
  if (code !== undefined) expect(response.body.code).toBe(code);
  // A refused request never gets tokens or cookies.
  expect(response.body).not.toHaveProperty('access');
  expect(response.headers['set-cookie']).toBeUndefined();
}

/**
 * Sends a hostile request and asserts it was refused with 401 without a single store call, and that the store's
 * content (every session, its access link and CSRF secret) is exactly what it was before.
 */
export async function expectRefusedWithoutStore(
  fixture: SecurityApp,
  send: (http: ReturnType<typeof request>) => PromiseLike<request.Response>,
  code?: string,
): Promise<request.Response> {
  const before = fixture.snapshot();
  fixture.resetCalls();
  const response = await send(fixture.http());
  expectUnauthorized(response, code);
  expect(fixture.calls()).toEqual(NO_STORE_CALLS);
  expect(fixture.snapshot()).toEqual(before);
  return response;
}

/** The three guarded routes, and how a token reaches each by header. */
export type RouteName = 'access' | 'refresh' | 'refresh-by-access';

export const ROUTES: Record<RouteName, { typ: 'at+jwt' | 'rt+jwt'; send: (http: ReturnType<typeof request>, token: string) => request.Test }> = {
  access: { typ: 'at+jwt', send: (http, token) => http.get('/access').set('Authorization', `Bearer ${token}`) },
  refresh: { typ: 'rt+jwt', send: (http, token) => http.post('/refresh').set('X-Refresh-Token', token) },
  'refresh-by-access': { typ: 'at+jwt', send: (http, token) => http.post('/refresh-by-access').set('Authorization', `Bearer ${token}`) },
};

export const ROUTE_NAMES = Object.keys(ROUTES) as RouteName[];

/** The real claims a forgery for a route copies: the access token's for access routes, the refresh token's otherwise. */
export function claimsFor(route: RouteName, login: HttpLogin): JsonObject {
  return { ...(route === 'refresh' ? login.refreshClaims : login.accessClaims) };
}
