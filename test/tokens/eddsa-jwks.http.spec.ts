import { Controller, Get, Post, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { generateKeyPairSync } from 'node:crypto';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JWK } from 'jose';
import request from 'supertest';
import {
  AccessAuth, ClaimlessPayload, Clock, FoundToken, JwtSessionsModule, MalconfiguredError, RefreshAuth, RefreshByAccessAuth,
  SessionService, TokenPayload, type JwtSessionsModuleOptions, type SessionPayload,
} from '../../lib/index.js';
import { ManualClock } from '../support/manual-clock.js';

/** EdDSA (Ed25519) end to end over HTTP, on a keyring, with the JWKS route serving the public keys. */
@Controller()
class EdController {
  constructor(private readonly sessions: SessionService) {}

  @Post('login')
  login() {
    return this.sessions.login({ payload: { user_id: 1 }, refreshByAccessAllowed: true });
  }

  @AccessAuth()
  @Get('me')
  me(@TokenPayload('user_id') userId: number) {
    return { userId };
  }

  @RefreshAuth()
  @Post('refresh')
  refresh(@FoundToken() token: string) {
    return this.sessions.refresh(token, { payload: { user_id: 1 } });
  }

  @RefreshByAccessAuth()
  @Post('refresh-by-access')
  refreshByAccess(@FoundToken() token: string, @ClaimlessPayload() payload: SessionPayload) {
    return this.sessions.refreshByAccess(token, { payload: { user_id: payload.user_id } });
  }
}

const current = generateKeyPairSync('ed25519');
const previous = generateKeyPairSync('ed25519');

async function boot(options: JwtSessionsModuleOptions, jwksPath?: string) {
  const clock = new ManualClock();
  const moduleRef = await Test.createTestingModule({
    imports: [JwtSessionsModule.forRoot({ ...options, jwksPath })],
    controllers: [EdController],
  }).overrideProvider(Clock).useValue(clock).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return { app, clock };
}

describe('EdDSA over HTTP, with a JWKS route', () => {
  let app: INestApplication;
  let clock: ManualClock;
  const http = () => request(app.getHttpServer());

  beforeAll(async () => {
    ({ app, clock } = await boot({
      algorithm: 'EdDSA',
      keys: [{ kid: 'ed-2026-12', privateKey: current.privateKey }, { kid: 'ed-2026-11', publicKey: previous.publicKey }],
    }, '.well-known/jwks.json'));
  });
  afterAll(() => app.close());

  it('logs in, authorizes, refreshes and refreshes by access with Ed25519 tokens', async () => {
    const login = await http().post('/login').expect(201);
    expect(decodeProtectedHeader(login.body.access)).toMatchObject({ alg: 'EdDSA', kid: 'ed-2026-12', typ: 'at+jwt' });
    await http().get('/me').set('Authorization', `Bearer ${login.body.access}`).expect(200, { userId: 1 });

    clock.advance(3601);
    const refreshed = await http().post('/refresh').set('X-Refresh-Token', login.body.refresh).expect(201);
    await http().get('/me').set('Authorization', refreshed.body.access).expect(200, { userId: 1 });

    clock.advance(3601);
    const byAccess = await http().post('/refresh-by-access').set('Authorization', refreshed.body.access).expect(201);
    await http().get('/me').set('Authorization', byAccess.body.access).expect(200, { userId: 1 });
    await http().get('/me').set('Authorization', refreshed.body.access).expect(401);
  });

  it('serves the public keys as a JWKS that verifies the access tokens', async () => {
    const answer = await http().get('/.well-known/jwks.json').expect(200);
    expect(answer.headers['content-type']).toMatch(/^application\/jwk-set\+json/);
    expect(answer.headers['cache-control']).toBe('public, max-age=300');
    expect(answer.body.keys.map((key: JWK) => key.kid)).toEqual(['ed-2026-12', 'ed-2026-11']);
    for (const key of answer.body.keys) expect(Object.keys(key).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x']);

    const login = await http().post('/login').expect(201);
    const { payload } = await jwtVerify(login.body.access, createLocalJWKSet(answer.body), { currentDate: new Date(clock.now()) });
    expect(payload.user_id).toBe(1);
  });

  it('has no JWKS route unless asked', async () => {
    const plain = await boot({ algorithm: 'EdDSA', privateKey: current.privateKey });
    await request(plain.app.getHttpServer()).get('/.well-known/jwks.json').expect(404);
    await plain.app.close();
  });

  it('refuses to start a JWKS route with HMAC keys only', async () => {
    const failure = await boot({ signingKey: 'hmac-signing-key-0123456789abcdef-0' }, 'jwks').then(() => null, (error: unknown) => error);
    expect(failure).toBeInstanceOf(MalconfiguredError);
    expect((failure as Error).message).toMatch(/jwksPath needs at least one asymmetric key/);
  });
});
