/**
 * Fixture of the attacker review (test/security/review-findings.spec.ts): a real Nest app on a real port with the
 * module under test, a manual clock, an Express method-override middleware (as the `method-override` package does
 * it: `originalMethod` keeps the wire method), routes for every guard and param decorator, an unguarded unsafe
 * route with `@TokenPayload()`, and a raw-socket sender for what supertest refuses to send (duplicate headers,
 * latin1 bytes, exact Cookie headers).
 */
import {
  All, Body, Controller, Delete, Get, HttpCode, Post, Res, type INestApplication, type Type,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { connect, type AddressInfo } from 'node:net';
import request from 'supertest';
import {
  AccessAuth, ClaimlessPayload, Clock, CurrentSession, JwtSessionsConfig, JwtSessionsGuard, JwtSessionsModule,
  SessionEvents, SessionService, TokenPayload, TokenStore, type AuthContext,
  type JwtSessionsModuleOptions, type SessionTokens,
} from '../../../lib/index.js';
import type { JwtSessionsModuleExtras } from '../../../lib/jwt-sessions.module-definition.js';
import { ManualClock } from '../../support/manual-clock.js';
import { RefreshRoutes } from './refresh-routes.js';

/** A 32-byte HS256 secret. */
export const REVIEW_HS256_KEY = 'review-hs256-key-0123456789abcde';

interface LoginBody {
  payload?: Record<string, unknown>;
  namespace?: string;
  refreshByAccessAllowed?: boolean;
}

@Controller()
class ReviewController extends RefreshRoutes {
  @Post('login')
  @HttpCode(200)
  async login(@Body() body: LoginBody, @Res({ passthrough: true }) response: unknown): Promise<SessionTokens> {
    const tokens = await this.sessions.login({
      payload: body?.payload ?? { user_id: 1 },
      namespace: body?.namespace ?? 'user-1',
      refreshByAccessAllowed: body?.refreshByAccessAllowed ?? true,
    });
    this.cookies.set(response, tokens);
    return tokens;
  }

  @Get('me')
  @AccessAuth()
  readMe(@TokenPayload() payload: Record<string, unknown>) {
    return { method: 'GET', payload };
  }

  @Post('me')
  @HttpCode(200)
  @AccessAuth()
  writeMe(@TokenPayload() payload: Record<string, unknown>) {
    return { method: 'POST', payload };
  }

  @Delete('me')
  @AccessAuth()
  deleteMe(@TokenPayload() payload: Record<string, unknown>) {
    return { method: 'DELETE', payload };
  }

  /** Any method, as an app's catch-all handler would take it. */
  @All('any')
  @HttpCode(200)
  @AccessAuth()
  any(@TokenPayload('user_id') userId: unknown) {
    return { userId };
  }

  /** Everything the guard verified, answered as a careless app would (a debug "whoami"). */
  @Get('context')
  @AccessAuth()
  context(@CurrentSession() context: AuthContext) {
    return context;
  }

  /** Unguarded and unsafe: `@TokenPayload()` verifies whatever access token the request carries. */
  @Post('public')
  @HttpCode(200)
  publicWrite(@TokenPayload() payload: Record<string, unknown>, @ClaimlessPayload() claimless: Record<string, unknown>) {
    return { payload, claimless };
  }
}

/** The Express method-override middleware as the `method-override` package writes it (header getter, POST only). */
export function methodOverride(req: { method: string; originalMethod?: string; headers: Record<string, unknown> }, _res: unknown, next: () => void): void {
  req.originalMethod = req.originalMethod || req.method;
  const override = req.headers['x-http-method-override'];
  if (req.originalMethod === 'POST' && typeof override === 'string' && override.length > 0) req.method = override.toUpperCase();
  next();
}

export interface ReviewApp {
  app: INestApplication;
  clock: ManualClock;
  store: TokenStore;
  sessions: SessionService;
  config: JwtSessionsConfig;
  guard: JwtSessionsGuard;
  events: SessionEvents;
  port: number;
  http: () => ReturnType<typeof request>;
  close: () => Promise<void>;
}

/** How a review boots its app, besides the module's options. */
export interface ReviewAppSetup extends JwtSessionsModuleExtras {
  /** Applies {@link methodOverride} before the routes. */
  methodOverride?: boolean;
  /** The review's own routes, instead of this fixture's. */
  controllers?: Array<Type<unknown>>;
  /** A SessionService subclass to boot with, as an app would provide one. */
  sessionService?: typeof SessionService;
  clock?: ManualClock;
}

/** Boots the module with these options (HS256 with REVIEW_HS256_KEY unless keys are given) and listens on a free port. */
export async function bootReviewApp(options: JwtSessionsModuleOptions = {}, setup: ReviewAppSetup = {}): Promise<ReviewApp> {
  const hasKey = options.keys !== undefined || options.privateKey !== undefined || options.signingKey !== undefined;
  const { methodOverride: withOverride, controllers = [ReviewController], sessionService, clock = new ManualClock(), ...moduleExtras } = setup;
  let builder = Test.createTestingModule({
    imports: [JwtSessionsModule.forRoot({ ...(hasKey ? {} : { signingKey: REVIEW_HS256_KEY }), ...options, ...moduleExtras })],
    controllers,
  }).overrideProvider(Clock).useValue(clock);
  if (sessionService) builder = builder.overrideProvider(SessionService).useClass(sessionService);
  const moduleRef = await builder.compile();
  const app = moduleRef.createNestApplication({ logger: false });
  if (withOverride) app.use(methodOverride);
  await app.init();
  await app.listen(0, '127.0.0.1');
  const port = (app.getHttpServer().address() as AddressInfo).port;
  return {
    app,
    clock,
    port,
    store: app.get(TokenStore),
    sessions: app.get(SessionService),
    config: app.get(JwtSessionsConfig),
    guard: app.get(JwtSessionsGuard),
    events: app.get(SessionEvents),
    http: () => request(app.getHttpServer()),
    close: () => app.close(),
  };
}

/** A login over HTTP: the tokens answered and the cookies set, as `name=value` pairs by name. */
export interface ReviewLogin {
  tokens: { csrf: string; access: string; refresh: string };
  cookies: Record<string, string>;
}

export async function loginOver(fixture: ReviewApp, body: LoginBody = {}): Promise<ReviewLogin> {
  const response = await fixture.http().post('/login').send(body);
  if (response.status !== 200) throw new Error(`POST /login answered ${response.status}: ${JSON.stringify(response.body)}`);
  const lines = ([] as string[]).concat((response.headers['set-cookie'] as unknown as string[] | undefined) ?? []);
  const cookies: Record<string, string> = {};
  for (const line of lines) {
    const pair = line.split(';')[0];
    const index = pair.indexOf('=');
    cookies[pair.slice(0, index)] = pair.slice(index + 1);
  }
  return { tokens: response.body, cookies };
}

/** What a raw request got back. */
export interface RawAnswer {
  status: number;
  headers: string;
  body: string;
}

/**
 * Sends one request byte for byte (latin1: one byte per character, as Node reads headers), each header line as
 * given, so headers may repeat; answers the status line's code, the header block and the body.
 */
export function sendRaw(port: number, method: string, path: string, headers: Array<[string, string]>): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const hostGiven = headers.some(([name]) => name.toLowerCase() === 'host');
    const lines = [
      `${method} ${path} HTTP/1.1`, ...(hostGiven ? [] : [`Host: 127.0.0.1:${port}`]),
      ...headers.map(([name, value]) => `${name}: ${value}`), 'Connection: close', 'Content-Length: 0',
    ];
    socket.on('connect', () => socket.write(Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1')));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.setTimeout(5000, () => socket.destroy(new Error('raw request timed out')));
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ status, headers: text.slice(0, split), body: split < 0 ? '' : text.slice(split + 4) });
    });
  });
}
