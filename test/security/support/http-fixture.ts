/**
 * Shared fixture of the HTTP-level security suites (limits, csrf, random-tokens, fuzz): the sample app booted on
 * the memory store and listening on a real port, a spy on every TokenStore method, the sample's guarded routes,
 * a seeded PRNG, request senders (supertest, and a raw socket for what supertest refuses to send) and the oracle
 * that tells whether a request carries a credential a route would honour.
 */
import { afterAll, beforeAll, expect, jest } from '@jest/globals';
import { parseCookie } from 'cookie';
import { createHmac } from 'node:crypto';
import { connect, type AddressInfo } from 'node:net';
import { JwtSessionsConfig, SessionService, TokenStore } from '../../../lib/index.js';
import {
  ACCESS_COOKIE, ACCESS_EXP, E2E_SIGNING_KEY, REFRESH_COOKIE, SEEDED_USER, bootSampleApp, setCookies,
  type LoginTokens, type Response, type SampleApp,
} from '../../e2e/support/sample-app.js';

// ---------------------------------------------------------------------------------------------------------------
// Seeded PRNG

// Globals are slow to reach from Jest's VM context: the hot loops below use module bindings.
const { imul, floor } = Math;
const fromCharCode = String.fromCharCode;

/** mulberry32: a tiny seeded PRNG, so that every failure is reproducible from the seed printed in the test name. */
export class Rng {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)];
  }

  /** Random bytes, four per draw. */
  bytes(length: number): Buffer {
    const out = new Uint8Array(Math.max(0, length));
    for (let i = 0; i < length; i += 4) {
      const word = floor(this.next() * 4294967296);
      for (let j = 0; j < 4 && i + j < length; j++) out[i + j] = (word >>> (8 * j)) & 0xff;
    }
    return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  }

  string(length: number, alphabet: string): string {
    const codes = new Uint16Array(Math.max(0, length));
    for (let i = 0; i < length; i++) codes[i] = alphabet.charCodeAt(floor(this.next() * alphabet.length));
    let out = '';
    for (let i = 0; i < length; i += 4096) out += fromCharCode(...codes.subarray(i, i + 4096));
    return out;
  }
}

/** The seed of a suite: SECURITY_SEED from the environment when set (to replay a failure), else the suite's own. */
export function seedOf(fallback: number): number {
  const fromEnv = process.env.SECURITY_SEED;
  return fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) >>> 0 : fallback;
}

export const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** Printable ASCII, space included. */
export const PRINTABLE = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('');

// ---------------------------------------------------------------------------------------------------------------
// The app, listening, with a spy on its store

/** Every method of the TokenStore contract (`rotate` once the store has it: refresh-token rotation). */
export const STORE_METHODS = [
  'create', 'find', 'relink', 'rotate', 'delete', 'list', 'deleteNamespace', 'unlinkNamespaceAccess', 'deleteAll', 'createSessionId',
] as const;
export type StoreMethod = (typeof STORE_METHODS)[number];
/** The methods that write (or would hand out a new session id). */
export const STORE_WRITES: readonly StoreMethod[] = [
  'create', 'relink', 'rotate', 'delete', 'deleteNamespace', 'unlinkNamespaceAccess', 'deleteAll', 'createSessionId',
];

export interface StoreSpy {
  /** Calls of each method since the last reset. */
  counts(): Record<StoreMethod, number>;
  /** Calls of any method since the last reset. */
  total(): number;
  /** Calls of a writing method since the last reset. */
  writes(): number;
  reset(): void;
  restore(): void;
}

/** Spies (calling through) on every TokenStore method the app's store instance has. */
export function spyOnStore(store: TokenStore): StoreSpy {
  const target = store as unknown as Record<StoreMethod, (...args: unknown[]) => unknown>;
  const spies = STORE_METHODS.filter((method) => typeof target[method] === 'function').map((method) => [method, jest.spyOn(target, method)] as const);
  const counts = () => Object.fromEntries(STORE_METHODS.map((method) => [method, spies.find(([name]) => name === method)?.[1].mock.calls.length ?? 0])) as Record<StoreMethod, number>;
  return {
    counts,
    total: () => Object.values(counts()).reduce((sum, n) => sum + n, 0),
    writes: () => STORE_WRITES.reduce((sum, method) => sum + counts()[method], 0),
    reset: () => spies.forEach(([, spy]) => spy.mockClear()),
    restore: () => spies.forEach(([, spy]) => spy.mockRestore()),
  };
}

/** Asserts no store method at all was called since the last reset (the counts are shown on failure). */
export function expectNoStoreCall(spy: StoreSpy, label = ''): void {
  expect({ label, calls: spy.counts() }).toEqual({ label, calls: Object.fromEntries(STORE_METHODS.map((m) => [m, 0])) });
}

/** Asserts no writing store method was called since the last reset. */
export function expectNoStoreWrite(spy: StoreSpy, label = ''): void {
  const counts = spy.counts();
  expect({ label, writes: STORE_WRITES.map((m) => [m, counts[m]]) }).toEqual({ label, writes: STORE_WRITES.map((m) => [m, 0]) });
}

export interface HttpSample extends SampleApp {
  port: number;
  store: TokenStore;
  sessions: SessionService;
  maxTokenLength: number;
  spy: StoreSpy;
}

/**
 * The sample app (memory store, manual clock) for the enclosing describe block, listening on 127.0.0.1 so that
 * requests reuse connections and raw sockets can reach it, with a spy on every store method.
 */
export function useHttpSample(): HttpSample {
  let booted: HttpSample | undefined;
  beforeAll(async () => {
    const sample = await bootSampleApp();
    await sample.app.listen(0, '127.0.0.1');
    const store = sample.app.get(TokenStore);
    booted = {
      ...sample,
      port: (sample.app.getHttpServer().address() as AddressInfo).port,
      store,
      sessions: sample.app.get(SessionService),
      maxTokenLength: sample.app.get(JwtSessionsConfig).maxTokenLength,
      spy: spyOnStore(store),
    };
  });
  afterAll(async () => {
    booted?.spy.restore();
    await booted?.close();
  });
  const current = (): HttpSample => {
    if (!booted) throw new Error('The sample app is booted in beforeAll: use it inside tests and hooks');
    return booted;
  };
  return {
    get app() { return current().app; },
    get clock() { return current().clock; },
    get port() { return current().port; },
    get store() { return current().store; },
    get sessions() { return current().sessions; },
    get maxTokenLength() { return current().maxTokenLength; },
    get spy() { return current().spy; },
    http: () => current().http(),
    close: () => current().close(),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The sample's routes

export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RouteCase {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  /** The token the route reads. */
  token: 'access' | 'refresh';
  /** Where it may come from. */
  transports: Array<'header' | 'cookie'>;
  /** The route refuses a live access token (the Rails refresh by access: the gem's hijack callback). */
  expired?: boolean;
  /** The route wants a JSON body (a new user). */
  body?: boolean;
  /** False for the one route that reads a token without requiring one (payload_without_authorize). */
  guarded: boolean;
}

const both: Array<'header' | 'cookie'> = ['header', 'cookie'];

/** Every route of the sample that reads a token: the Sinatra API under /api/v1 and the Rails API at the root. */
export const TOKEN_ROUTES: RouteCase[] = [
  { method: 'POST', path: '/api/v1/refresh', token: 'refresh', transports: both, guarded: true },
  { method: 'POST', path: '/api/v1/refresh_by_cookies', token: 'refresh', transports: ['cookie'], guarded: true },
  { method: 'POST', path: '/api/v1/refresh_by_headers', token: 'refresh', transports: ['header'], guarded: true },
  { method: 'POST', path: '/api/v1/refresh_by_access', token: 'access', transports: both, guarded: true },
  { method: 'POST', path: '/api/v1/refresh_by_access_by_cookies', token: 'access', transports: ['cookie'], guarded: true },
  { method: 'POST', path: '/api/v1/refresh_by_access_by_headers', token: 'access', transports: ['header'], guarded: true },
  { method: 'POST', path: '/api/v1/refresh_namespaced', token: 'refresh', transports: both, guarded: true },
  { method: 'POST', path: '/api/v1/refresh_by_access_namespaced', token: 'access', transports: both, guarded: true },
  { method: 'GET', path: '/api/v1/payload', token: 'access', transports: both, guarded: true },
  { method: 'GET', path: '/api/v1/payload_by_cookies', token: 'access', transports: ['cookie'], guarded: true },
  { method: 'GET', path: '/api/v1/payload_by_headers', token: 'access', transports: ['header'], guarded: true },
  { method: 'GET', path: '/api/v1/payload_without_authorize', token: 'access', transports: both, guarded: false },
  { method: 'DELETE', path: '/login', token: 'access', transports: both, guarded: true },
  { method: 'DELETE', path: '/login/destroy_by_refresh', token: 'refresh', transports: both, guarded: true },
  { method: 'POST', path: '/refresh', token: 'refresh', transports: both, guarded: true },
  { method: 'POST', path: '/refresh_by_access', token: 'access', transports: both, expired: true, guarded: true },
  { method: 'GET', path: `/users/${SEEDED_USER.id}`, token: 'access', transports: both, guarded: true },
  { method: 'POST', path: '/users', token: 'access', transports: both, body: true, guarded: true },
  { method: 'GET', path: '/sessions', token: 'access', transports: both, guarded: true },
  { method: 'DELETE', path: '/sessions', token: 'access', transports: both, guarded: true },
];

export const GUARDED_ROUTES = TOKEN_ROUTES.filter((route) => route.guarded);
/** Routes where a cookie-borne token needs the CSRF header. */
export const CSRF_ROUTES = GUARDED_ROUTES.filter((route) => route.method !== 'GET' && route.transports.includes('cookie'));
export const label = (route: Pick<RouteCase, 'method' | 'path'>) => `${route.method} ${route.path}`;

/** How the sample answers a method and path whatever the credentials: what a hostile request may get at best. */
export type EndpointKind = 'guarded' | 'optional-token' | 'json-login' | 'none';

export function endpointKind(method: Method, path: string): EndpointKind {
  const asGet = method === 'HEAD' ? 'GET' : method;
  const route = TOKEN_ROUTES.find((candidate) => candidate.path === path && candidate.method === asGet);
  if (route) return route.guarded ? 'guarded' : 'optional-token';
  // The logins are open, but take only JSON bodies: a request without one answers 415.
  if (method === 'POST' && (path === '/login' || path === '/login_with_cookies')) return 'json-login';
  return 'none';
}

// ---------------------------------------------------------------------------------------------------------------
// Sessions

/** The tokens of a session, however they were delivered. */
export interface SessionCredentials {
  access: string;
  refresh: string;
  csrf: string;
}

/** POST /login_with_cookies with the seeded user: the tokens as the Set-Cookie lines carry them, and the body's CSRF. */
export async function loginWithCookies(sample: SampleApp): Promise<SessionCredentials> {
  const response = await sample.http().post('/login_with_cookies').send({ email: SEEDED_USER.email, password: SEEDED_USER.password });
  expect(response.status).toBe(200);
  const cookies = setCookies(response);
  expect(Object.keys(cookies).sort()).toEqual([ACCESS_COOKIE, REFRESH_COOKIE]);
  expect(cookies[ACCESS_COOKIE].attributes.has('httponly')).toBe(true);
  return { access: cookies[ACCESS_COOKIE].value, refresh: cookies[REFRESH_COOKIE].value, csrf: (response.body as { csrf: string }).csrf };
}

/** POST /api/v1/login (the Sinatra example): a session in no namespace, so no Rails logout-everywhere reaches it. */
export async function loginSinatraSession(sample: SampleApp): Promise<SessionCredentials> {
  const response = await sample.http().post('/api/v1/login');
  expect(response.status).toBe(200);
  const { access, refresh, csrf } = response.body as LoginTokens;
  return { access, refresh, csrf };
}

/** The unmasked CSRF secret (base64) of a masked CSRF token (pad + pad XOR secret). */
export function unmaskCsrf(masked: string): string {
  const bytes = Buffer.from(masked, 'base64');
  expect(bytes.length).toBe(64);
  const out = Buffer.alloc(32);
  for (let i = 0; i < 32; i++) out[i] = bytes[i] ^ bytes[32 + i];
  return out.toString('base64');
}

// ---------------------------------------------------------------------------------------------------------------
// Requests

export type HeaderValue = string | string[];

export interface RequestSpec {
  method: Method;
  path: string;
  /** Header lines in order; an array value sends the header several times. */
  headers: Array<[string, HeaderValue]>;
  /** A JSON body. */
  body?: unknown;
}

export interface Answer {
  /** Every status line the connection carried (more than one only for a smuggled second request). */
  statuses: number[];
  status: number;
  body: unknown;
  /** Response headers of the first answer, lower-cased names. */
  headers: Record<string, unknown>;
  /** True when the request went over a raw socket (supertest refuses its header bytes). */
  raw: boolean;
}

/** Characters Node's HTTP client refuses in a header value. */
const CLIENT_REFUSED = /[^\t\x20-\x7e\x80-\xff]/;

export function needsRawSocket(spec: RequestSpec): boolean {
  return spec.headers.some(([, value]) => (Array.isArray(value) ? value : [value]).some((v) => CLIENT_REFUSED.test(v)));
}

/** Sends a request through supertest, or over a raw socket when it holds header bytes Node's client will not send. */
export async function send(sample: HttpSample, spec: RequestSpec): Promise<Answer> {
  if (needsRawSocket(spec)) return sendRaw(sample.port, spec);
  let test = sample.http()[spec.method.toLowerCase() as 'get'](spec.path);
  for (const [name, value] of spec.headers) test = test.set(name, value as string);
  if (spec.body !== undefined) test = test.send(spec.body as object);
  const response: Response = await test;
  return { statuses: [response.status], status: response.status, body: response.body, headers: response.headers as Record<string, unknown>, raw: false };
}

/**
 * Writes the request as bytes (latin1: one byte per character, as Node reads headers) on a fresh connection and
 * reads every response until the server closes it. Whatever CR, LF or NUL the values hold goes on the wire as is.
 */
export function sendRaw(port: number, spec: RequestSpec): Promise<Answer> {
  const body = spec.body === undefined ? '' : JSON.stringify(spec.body);
  const lines = [`${spec.method} ${spec.path} HTTP/1.1`, 'Host: 127.0.0.1'];
  for (const [name, value] of spec.headers) for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v}`);
  if (spec.body !== undefined) lines.push('Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`);
  lines.push('Connection: close');
  const wire = Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), Buffer.from(body, 'utf8')]);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, '127.0.0.1');
    const timer = setTimeout(() => socket.destroy(new Error('no answer within 5 s')), 5000);
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', (error) => {
      // A server that answers then resets the connection still answered.
      if (chunks.length > 0) return;
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const statuses = [...text.matchAll(/(?:^|\r\n)HTTP\/1\.1 (\d{3}) /g)].map((match) => Number(match[1]));
      if (statuses.length === 0) return reject(new Error(`no HTTP answer: ${JSON.stringify(text.slice(0, 200))}`));
      const end = text.indexOf('\r\n\r\n');
      const headers: Record<string, unknown> = {};
      for (const line of text.slice(0, end).split('\r\n').slice(1)) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).toLowerCase();
        headers[name] = headers[name] === undefined ? line.slice(colon + 1).trim() : [headers[name], line.slice(colon + 1).trim()].flat();
      }
      const next = text.indexOf('HTTP/1.1 ', end + 4);
      let parsed: unknown;
      try {
        parsed = JSON.parse(text.slice(end + 4, next === -1 ? undefined : next));
      } catch {
        parsed = undefined;
      }
      resolve({ statuses, status: statuses[0], body: parsed, headers, raw: true });
    });
    socket.write(wire);
  });
}

/** Runs the tasks with at most `limit` in flight; answers their results in order. */
export async function inPool<T>(count: number, limit: number, task: (index: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      results[index] = await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
  return results;
}

/** Credentials to put on a request to a route. */
export interface Credentials {
  authorization?: HeaderValue;
  refreshHeader?: HeaderValue;
  cookie?: HeaderValue;
  csrf?: HeaderValue;
  extra?: Array<[string, HeaderValue]>;
}

let userCounter = 0;

/** A request to a route with the given credentials (and a fresh user body when the route wants one). */
export function routeRequest(route: RouteCase, credentials: Credentials, method: Method = route.method): RequestSpec {
  const headers: Array<[string, HeaderValue]> = [];
  if (credentials.authorization !== undefined) headers.push(['Authorization', credentials.authorization]);
  if (credentials.refreshHeader !== undefined) headers.push(['X-Refresh-Token', credentials.refreshHeader]);
  if (credentials.cookie !== undefined) headers.push(['Cookie', credentials.cookie]);
  if (credentials.csrf !== undefined) headers.push(['X-CSRF-Token', credentials.csrf]);
  headers.push(...(credentials.extra ?? []));
  const body = route.body && method === 'POST' ? { user: { email: `sec${process.pid}x${++userCounter}@example.com`, password: 'password123' } } : undefined;
  return { method, path: route.path, headers, body };
}

/** The credentials a route honours for a session, by one transport (cookie ones carry the CSRF token). */
export function validCredentials(route: RouteCase, session: SessionCredentials, transport: 'header' | 'cookie'): Credentials {
  const token = session[route.token];
  if (transport === 'cookie') {
    return { cookie: `${route.token === 'access' ? ACCESS_COOKIE : REFRESH_COOKIE}=${token}`, csrf: session.csrf };
  }
  return route.token === 'access' ? { authorization: `Bearer ${token}` } : { refreshHeader: `Bearer ${token}` };
}

/** What a legitimate request of the route answers. */
export function expectRouteSuccess(route: RouteCase, answer: Answer, context = ''): void {
  const ok = route.method === 'POST' ? [200, 201] : [200];
  expect({ context, route: label(route), status: answer.status, ok: ok.includes(answer.status) }).toEqual({ context, route: label(route), status: answer.status, ok: true });
}

/** Asserts the contract's authorization failure: exactly 401, JSON, `error` "Unauthorized". */
export function expectUnauthorizedAnswer(answer: Answer, context = ''): void {
  expect({ context, status: answer.status, error: (answer.body as { error?: unknown } | undefined)?.error, setCookie: answer.headers['set-cookie'] })
    .toEqual({ context, status: 401, error: 'Unauthorized', setCookie: undefined });
}

/** A fresh Rails session fit for a route: with its access token expired when the route refuses live ones. */
export async function sessionFor(sample: HttpSample, route: RouteCase): Promise<SessionCredentials> {
  const session = await loginWithCookies(sample);
  if (route.expired) sample.clock.advance(ACCESS_EXP + 1);
  return session;
}

// ---------------------------------------------------------------------------------------------------------------
// Tokens made by hand with the sample's own key (to prove a refusal is about size, not signature)

/** An HS256 compact JWS signed with the sample's key, with the header and payload JSON given as text. */
export function signHs256(headerJson: string, payloadJson: string): string {
  const signingInput = `${Buffer.from(headerJson).toString('base64url')}.${Buffer.from(payloadJson).toString('base64url')}`;
  return `${signingInput}.${createHmac('sha256', E2E_SIGNING_KEY).update(signingInput).digest('base64url')}`;
}

/**
 * A genuinely signed token of exactly `length` characters with the claims of `model` (same header, same claims,
 * plus a `pad` claim): the server would honour it but for its length. Header whitespace shifts the length by one
 * character where base64url's steps of 4/3 cannot reach it otherwise.
 */
export function signedOfLength(model: string, length: number): string {
  const [header, payload] = model.split('.').slice(0, 2).map((segment) => JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as Record<string, unknown>);
  const headerText = JSON.stringify(header);
  for (let spaces = 0; spaces < 8; spaces++) {
    const spacedHeader = `{${' '.repeat(spaces)}${headerText.slice(1)}`;
    const fixed = signHs256(spacedHeader, JSON.stringify({ ...payload, pad: '' })).length;
    for (let pad = Math.max(0, Math.floor(((length - fixed) * 3) / 4) - 4); pad < length; pad++) {
      const token = signHs256(spacedHeader, JSON.stringify({ ...payload, pad: 'x'.repeat(pad) }));
      if (token.length === length) return token;
      if (token.length > length) break;
    }
  }
  throw new Error(`cannot make a token of ${length} characters`);
}

// ---------------------------------------------------------------------------------------------------------------
// The oracle: does a request carry a credential the route would honour?

/** Node's rule for a repeated request header: these keep the first value, `cookie` joins with "; ", others with ", ". */
const FIRST_WINS = new Set(['authorization', 'content-type', 'content-length', 'host', 'user-agent', 'referer', 'from', 'proxy-authorization']);

/**
 * The values of each header as the server will see them, lower-cased names: both the merged value (Node's rule)
 * and each value alone, also split at any CR or LF (so an injected line counts), so that the oracle errs on the
 * side of "this might be valid".
 */
export function headerViews(spec: RequestSpec): Map<string, string[]> {
  const lines: Array<[string, string]> = [];
  for (const [name, value] of spec.headers) {
    for (const v of Array.isArray(value) ? value : [value]) {
      const [first, ...injected] = v.split(/\r\n|\r|\n/);
      lines.push([name.toLowerCase(), first]);
      for (const line of injected) {
        const colon = line.indexOf(':');
        if (colon > 0) lines.push([line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1)]);
      }
      // The value with its NULs and line breaks dropped, in case a lenient parser did that.
      lines.push([name.toLowerCase(), v.replace(/[\r\n\0]/g, '')]);
    }
  }
  const views = new Map<string, string[]>();
  const byName = new Map<string, string[]>();
  for (const [name, value] of lines) byName.set(name, [...(byName.get(name) ?? []), value.trim()]);
  for (const [name, values] of byName) {
    const merged = FIRST_WINS.has(name) ? values[0] : values.join(name === 'cookie' ? '; ' : ', ');
    views.set(name, [merged, ...values]);
  }
  return views;
}

function decodeSegments(token: string): Buffer[] | null {
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token)) return null;
  return token.split('.').map((segment) => Buffer.from(segment, 'base64url'));
}

/** Whether a candidate is one of the tokens, or the same bytes spelt otherwise (base64url's unused trailing bits). */
export function sameToken(candidate: string, tokens: readonly string[]): boolean {
  if (tokens.includes(candidate)) return true;
  const decoded = decodeSegments(candidate);
  if (!decoded) return false;
  return tokens.some((token) => {
    const real = decodeSegments(token);
    return real !== null && real.every((segment, i) => segment.equals(decoded[i]));
  });
}

/** Whether a header value could carry one of the tokens as the contract reads it: a bare token or `Bearer <token>`. */
function headerCarries(value: string, tokens: readonly string[]): boolean {
  const trimmed = value.trim();
  const bare = trimmed.replace(/^bearer\s+/i, '').trim();
  return sameToken(trimmed, tokens) || sameToken(bare, tokens);
}

/** Whether a Cookie header could carry one of the tokens under the cookie's name. */
function cookieCarries(header: string, name: string, tokens: readonly string[]): boolean {
  const values: string[] = [];
  const parsed = parseCookie(header)[name];
  if (parsed !== undefined) values.push(parsed);
  // Conservatively, every pair whose name trims to the cookie's, decoded or not.
  for (const pair of header.split(/[;,]/)) {
    const eq = pair.indexOf('=');
    if (eq === -1 || pair.slice(0, eq).trim() !== name) continue;
    const raw = pair.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
    values.push(raw);
    try {
      values.push(decodeURIComponent(raw));
    } catch {
      // not percent-encoded
    }
  }
  return values.some((value) => sameToken(value.trim(), tokens));
}

/** The live tokens of the sessions a suite holds. */
export interface TokenPool {
  access: string[];
  refresh: string[];
}

/** Where a token can be read from: a header, or a cookie by name. */
export type Slot = 'authorization' | 'x-refresh-token' | 'cookie:jwt_access' | 'cookie:jwt_refresh';
export const ALL_SLOTS: readonly Slot[] = ['authorization', 'x-refresh-token', 'cookie:jwt_access', 'cookie:jwt_refresh'];

/** The slots a route reads. */
export function slotsOf(route: Pick<RouteCase, 'token' | 'transports'>): Slot[] {
  return route.transports.map((transport) => transport === 'header'
    ? (route.token === 'access' ? 'authorization' : 'x-refresh-token')
    : (route.token === 'access' ? 'cookie:jwt_access' : 'cookie:jwt_refresh'));
}

/** The slots the request could be read through: those of the routes its method and path reach (every slot when unsure). */
export function slotsReached(spec: RequestSpec): readonly Slot[] {
  // A raw request may smuggle a second request to any route.
  if (needsRawSocket(spec)) return ALL_SLOTS;
  const asGet = spec.method === 'HEAD' ? 'GET' : spec.method;
  return [...new Set(TOKEN_ROUTES.filter((route) => route.path === spec.path && route.method === asGet).flatMap(slotsOf))];
}

/**
 * Whether the request might carry a live token of the right kind in a slot the route reads (or in any slot, when
 * `slots` says so). Errs towards "yes": such requests are never generated as hostile.
 */
export function carriesValidToken(spec: RequestSpec, pool: TokenPool, slots: readonly Slot[] = ALL_SLOTS): boolean {
  const views = headerViews(spec);
  return slots.some((slot) => {
    const tokens = slot === 'authorization' || slot === 'cookie:jwt_access' ? pool.access : pool.refresh;
    if (slot === 'authorization' || slot === 'x-refresh-token') return (views.get(slot) ?? []).some((value) => headerCarries(value, tokens));
    const name = slot === 'cookie:jwt_access' ? ACCESS_COOKIE : REFRESH_COOKIE;
    return (views.get('cookie') ?? []).some((value) => cookieCarries(value, name, tokens));
  });
}

/** Whether a presented CSRF value might be valid for a secret (base64 of 32 bytes): masked or raw, however spelt. */
export function csrfMightMatch(value: string, secret: string): boolean {
  const raw = Buffer.from(secret, 'base64');
  const decoded = Buffer.from(value.replace(/[^A-Za-z0-9+/_-]/g, ''), 'base64');
  if (decoded.length === 32) return decoded.equals(raw);
  if (decoded.length === 64) {
    const out = Buffer.alloc(32);
    for (let i = 0; i < 32; i++) out[i] = decoded[i] ^ decoded[32 + i];
    return out.equals(raw);
  }
  return false;
}

/** Whether any view of the request's X-CSRF-Token might be valid for one of the secrets. */
export function carriesValidCsrf(spec: RequestSpec, secrets: readonly string[]): boolean {
  return (headerViews(spec).get('x-csrf-token') ?? []).some((value) => secrets.some((secret) => csrfMightMatch(value, secret)));
}

/** Bytes of the request's headers, roughly as Node counts them against its 16 KB limit. */
export function headerBytes(spec: RequestSpec): number {
  let total = spec.method.length + spec.path.length + 40;
  for (const [name, value] of spec.headers) for (const v of Array.isArray(value) ? value : [value]) total += name.length + v.length + 4;
  return total;
}

/** Text whose every character is one byte of the UTF-8 encoding of `text` (how a client sends it in a header). */
export function utf8AsLatin1(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}
