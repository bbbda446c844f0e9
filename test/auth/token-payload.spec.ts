/**
 * `@TokenPayload()` on unguarded routes (it verifies the token it reads, session and CSRF included) and the
 * layering of `@TokenClaims()` on class and handler with the auth decorator's own claims and the module's `verify`.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Post, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import {
  AccessAuth, Clock, JwtSessionsModule, SessionService, TokenClaims, TokenPayload, type JwtSessionsModuleOptions,
} from '../../lib/index.js';
import { ManualClock } from '../support/manual-clock.js';
import { TEST_SIGNING_KEY } from '../support/setup.js';

@Controller()
class UnguardedController {
  @Post('act')
  act(@TokenPayload('user_id') id: unknown): { id: unknown } {
    return { id };
  }

  @Get('read')
  read(@TokenPayload() p: unknown): unknown {
    return p;
  }
}

@Controller('admin')
@TokenClaims({ audience: 'admin' })
class AdminController {
  @Get('dashboard')
  @TokenClaims({ leeway: 5 })
  @AccessAuth()
  dashboard(@TokenPayload('user_id') id: unknown): { id: unknown } {
    return { id };
  }
}

@Controller('open')
class OpenClaimsController {
  @Get()
  @AccessAuth({ claims: { audience: undefined } })
  open(@TokenPayload('user_id') id: unknown): { id: unknown } {
    return { id };
  }
}

interface Fixture {
  app: INestApplication;
  sessions: SessionService;
  clock: ManualClock;
  http: () => ReturnType<typeof request>;
}

async function startFixture(options: JwtSessionsModuleOptions = {}): Promise<Fixture> {
  const clock = new ManualClock();
  const moduleRef = await Test.createTestingModule({
    imports: [JwtSessionsModule.forRoot({ signingKey: TEST_SIGNING_KEY, ...options })],
    controllers: [UnguardedController, AdminController, OpenClaimsController],
  })
    .overrideProvider(Clock)
    .useValue(clock)
    .compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  const server = app.getHttpServer();
  return { app, sessions: moduleRef.get(SessionService), clock, http: () => request(server) };
}

const accessCookie = (access: string) => `jwt_access=${access}`;

describe('@TokenPayload() on an unguarded route', () => {
  let fixture: Fixture;

  beforeAll(async () => {
    fixture = await startFixture();
  });

  afterAll(async () => {
    await fixture.app.close();
  });

  const login = (userId = 7) => fixture.sessions.login({ payload: { user_id: userId } });

  describe('POST (unsafe method)', () => {
    it('refuses an access cookie without X-CSRF-Token with 401', async () => {
      const tokens = await login();
      const response = await fixture.http().post('/act').set('Cookie', accessCookie(tokens.access));
      expect(response.status).toBe(401);
      expect(response.body.id).toBeUndefined();
    });

    it('refuses an access cookie with a wrong X-CSRF-Token with 401', async () => {
      const tokens = await login();
      const other = await login(8);
      for (const csrf of [other.csrf, 'not-a-csrf-token', '']) {
        const response = await fixture.http().post('/act').set('Cookie', accessCookie(tokens.access)).set('X-CSRF-Token', csrf);
        expect({ csrf, status: response.status }).toEqual({ csrf, status: 401 });
      }
    });

    it('answers the user id for an access cookie with the right X-CSRF-Token', async () => {
      const tokens = await login(7);
      const response = await fixture.http().post('/act').set('Cookie', accessCookie(tokens.access)).set('X-CSRF-Token', tokens.csrf);
      expect(response.status).toBe(201);
      expect(response.body).toEqual({ id: 7 });
    });

    it('answers the user id for an access token in the Authorization header, without CSRF', async () => {
      const tokens = await login(9);
      const response = await fixture.http().post('/act').set('Authorization', `Bearer ${tokens.access}`);
      expect(response.status).toBe(201);
      expect(response.body).toEqual({ id: 9 });
    });

    it('answers no id when no token is sent', async () => {
      const response = await fixture.http().post('/act');
      expect(response.status).toBe(201);
      expect(response.body.id).toBeUndefined();
    });

    it('refuses the token of a flushed session with 401, by header and by cookie', async () => {
      const tokens = await login();
      await fixture.sessions.flushByToken(tokens.refresh);
      expect((await fixture.http().post('/act').set('Authorization', tokens.access)).status).toBe(401);
      const byCookie = await fixture.http().post('/act').set('Cookie', accessCookie(tokens.access)).set('X-CSRF-Token', tokens.csrf);
      expect(byCookie.status).toBe(401);
    });
  });

  describe('GET (safe method)', () => {
    it('answers the payload of an access cookie without CSRF', async () => {
      const tokens = await login(7);
      const response = await fixture.http().get('/read').set('Cookie', accessCookie(tokens.access));
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ user_id: 7, ruid: expect.any(String), uid: expect.any(String) });
    });

    it('answers {} when no token is sent', async () => {
      const response = await fixture.http().get('/read');
      expect(response.status).toBe(200);
      expect(response.body).toEqual({});
    });

    it('refuses the token of a flushed session with 401', async () => {
      const tokens = await login();
      await fixture.sessions.flushByToken(tokens.refresh);
      expect((await fixture.http().get('/read').set('Cookie', accessCookie(tokens.access))).status).toBe(401);
      expect((await fixture.http().get('/read').set('Authorization', tokens.access)).status).toBe(401);
    });

    it('refuses an access token replaced by a refresh with 401', async () => {
      const tokens = await login();
      const refreshed = await fixture.sessions.refresh(tokens.refresh);
      expect((await fixture.http().get('/read').set('Authorization', tokens.access)).status).toBe(401);
      expect((await fixture.http().get('/read').set('Authorization', refreshed.access)).status).toBe(200);
    });
  });
});

describe('claims layering', () => {
  describe('@TokenClaims() on the class and on the handler', () => {
    let fixture: Fixture;

    beforeAll(async () => {
      fixture = await startFixture();
    });

    afterAll(async () => {
      await fixture.app.close();
    });

    const dashboard = (access: string) => fixture.http().get('/admin/dashboard').set('Authorization', access);

    it('keeps the class audience when the handler only sets a leeway: aud "user" is refused', async () => {
      const tokens = await fixture.sessions.login({ payload: { user_id: 1, aud: 'user' } });
      expect((await dashboard(tokens.access)).status).toBe(401);
    });

    it('refuses a token without aud', async () => {
      const tokens = await fixture.sessions.login({ payload: { user_id: 1 } });
      expect((await dashboard(tokens.access)).status).toBe(401);
    });

    it('accepts aud "admin"', async () => {
      const tokens = await fixture.sessions.login({ payload: { user_id: 2, aud: 'admin' } });
      const response = await dashboard(tokens.access);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ id: 2 });
    });

    it('applies the handler leeway too: 4 seconds past expiry are accepted, 5 refused', async () => {
      const tokens = await fixture.sessions.login({ payload: { user_id: 3, aud: 'admin' }, accessExpiresIn: 10 });
      fixture.clock.advance(14);
      expect((await dashboard(tokens.access)).status).toBe(200);
      fixture.clock.advance(1);
      expect((await dashboard(tokens.access)).status).toBe(401);
    });
  });

  describe('an undefined audience in @AccessAuth({ claims }) over the module verify audience', () => {
    let fixture: Fixture;

    beforeAll(async () => {
      fixture = await startFixture({ verify: { audience: 'admin' } });
    });

    afterAll(async () => {
      await fixture.app.close();
    });

    it('does not erase the module audience: aud "user" is refused', async () => {
      const tokens = await fixture.sessions.login({ payload: { user_id: 1, aud: 'user' } });
      expect((await fixture.http().get('/open').set('Authorization', tokens.access)).status).toBe(401);
    });

    it('accepts the module own tokens (aud "admin")', async () => {
      const tokens = await fixture.sessions.login({ payload: { user_id: 4 } });
      const response = await fixture.http().get('/open').set('Authorization', tokens.access);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ id: 4 });
    });
  });
});
