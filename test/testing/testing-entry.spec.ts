import { Controller, Get, HttpCode, Post, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { AccessAuth, Clock, FoundToken, MalconfiguredError, RefreshAuth, SessionService, TokenPayload } from '../../lib/index.js';
import { JwtSessionsTestingModule, loginAs, TestClock } from '../../lib/testing/index.js';

/** The testing entry point as an app's tests use it: the preset module, a session minted for a payload, the clock. */
@Controller()
class ProfileController {
  constructor(private readonly sessions: SessionService) {}

  @AccessAuth()
  @Get('me')
  me(@TokenPayload('user_id') userId: number) {
    return { userId };
  }

  @AccessAuth()
  @Post('notes')
  @HttpCode(201)
  note() {
    return { saved: true };
  }

  @RefreshAuth()
  @Post('refresh')
  @HttpCode(200)
  refresh(@FoundToken() token: string) {
    return this.sessions.refresh(token, { payload: { user_id: 1 } });
  }
}

describe('nestjs-jwt-sessions/testing', () => {
  let app: INestApplication;
  const http = () => request(app.getHttpServer());

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [JwtSessionsTestingModule.forRoot({ accessExpiresIn: 60 })],
      controllers: [ProfileController],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
  });
  afterAll(() => app.close());

  it('mints a session whose headers authorize, and whose cookies need and carry their CSRF token', async () => {
    const session = await loginAs(app, { payload: { user_id: 1 }, namespace: 'user-1' });
    expect((await app.get(SessionService).listSessions('user-1')).map((info) => info.id)).toEqual([session.sessionId]);
    await http().get('/me').set(session.headers).expect(200, { userId: 1 });
    await http().post('/notes').set(session.cookieHeaders).expect(201);
    await http().post('/notes').set('Cookie', session.cookieHeaders.cookie).expect(401);
    await http().post('/refresh').set(session.refreshHeaders).expect(200);
  });

  it('hands out a TestClock that steps past expiries', async () => {
    const clock = app.get(Clock);
    expect(clock).toBeInstanceOf(TestClock);
    const session = await loginAs(app, { payload: { user_id: 1 } });
    (clock as TestClock).advance(61);
    await http().get('/me').set(session.headers).expect(401);
  });

  it('refuses a clock that is not a Clock', async () => {
    const failure = await Test.createTestingModule({ imports: [JwtSessionsTestingModule.forRoot({ clock: { now: () => 0 } as never })] })
      .compile().then(() => null, (error: unknown) => error);
    expect(failure).toBeInstanceOf(MalconfiguredError);
  });
});
