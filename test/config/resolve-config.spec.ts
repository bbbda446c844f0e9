import { Inject, Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  Clock, DEFAULT_ACCESS_COOKIE, DEFAULT_ACCESS_EXPIRES_IN, DEFAULT_ACCESS_HEADER, DEFAULT_ALGORITHM, DEFAULT_CSRF_HEADER,
  DEFAULT_MAX_TOKEN_LENGTH, DEFAULT_REFRESH_COOKIE, DEFAULT_REFRESH_EXPIRES_IN, DEFAULT_REFRESH_HEADER, JwtSessionsConfig,
  JwtSessionsModule, MalconfiguredError, MemoryTokenStore, SessionService, SystemClock,
  type JwtSessionsModuleOptions, type JwtSessionsOptionsFactory,
} from '../../lib/index.js';
import { resolveJwtSessionsConfig } from '../../lib/config/resolve-config.js';
import { setup, TEST_SIGNING_KEY } from '../support/setup.js';

/**
 * Port of the gem's test_jwt_sessions.rb (defaults, missing key, header/cookie by token type) and
 * test_token_store.rb (store selection), plus class-validator validation and the async module forms.
 */

async function malconfigured(options: JwtSessionsModuleOptions): Promise<MalconfiguredError> {
  const error = await setup(options).then(() => null, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(MalconfiguredError);
  return error as MalconfiguredError;
}

async function expectWorkingSessions(sessions: SessionService): Promise<void> {
  const tokens = await sessions.login({ payload: { user_id: 1 } });
  expect((await sessions.authorizeAccess(tokens.access)).payload.user_id).toBe(1);
}

const SIGNING_KEY = Symbol('SIGNING_KEY');

@Module({ providers: [{ provide: SIGNING_KEY, useValue: TEST_SIGNING_KEY }], exports: [SIGNING_KEY] })
class KeysModule {}

@Injectable()
class OptionsFactory implements JwtSessionsOptionsFactory {
  constructor(@Inject(SIGNING_KEY) private readonly key: string) {}

  createJwtSessionsOptions(): JwtSessionsModuleOptions {
    return { signingKey: this.key, accessExpiresIn: 120 };
  }
}

@Module({ imports: [KeysModule], providers: [OptionsFactory], exports: [OptionsFactory] })
class OptionsModule {}

@Injectable()
class SessionConsumer {
  constructor(@Inject(SessionService) readonly sessions: SessionService) {}
}

@Module({ providers: [SessionConsumer] })
class FeatureModule {}

describe('resolveJwtSessionsConfig', () => {
  describe('defaults (test_default_settings)', () => {
    it("are the gem's", async () => {
      const { config } = await setup();
      expect(config.algorithm).toBe('HS256');
      expect(config.accessExpiresIn).toBe(3600);
      expect(config.refreshExpiresIn).toBe(604800);
      expect(config.headers).toEqual({ access: 'authorization', refresh: 'x-refresh-token', csrf: 'x-csrf-token' });
      expect(config.cookies).toEqual({ access: 'jwt_access', refresh: 'jwt_refresh' });
      expect(config.maxTokenLength).toBe(8192);
      expect(config.verify).toEqual({});
      expect(config.cookieOptions).toEqual({ secure: true, sameSite: 'lax', refreshPath: '/', rejectCrossSite: false, trustedOrigins: new Set() });
    });

    it('match the exported constants', async () => {
      const { config } = await setup();
      expect(config.algorithm).toBe(DEFAULT_ALGORITHM);
      expect(config.accessExpiresIn).toBe(DEFAULT_ACCESS_EXPIRES_IN);
      expect(config.refreshExpiresIn).toBe(DEFAULT_REFRESH_EXPIRES_IN);
      expect(config.headers).toEqual({
        access: DEFAULT_ACCESS_HEADER.toLowerCase(),
        refresh: DEFAULT_REFRESH_HEADER.toLowerCase(),
        csrf: DEFAULT_CSRF_HEADER.toLowerCase(),
      });
      expect(config.cookies).toEqual({ access: DEFAULT_ACCESS_COOKIE, refresh: DEFAULT_REFRESH_COOKIE });
      expect(config.maxTokenLength).toBe(DEFAULT_MAX_TOKEN_LENGTH);
    });

    it('give the module the system clock', async () => {
      const moduleRef = await Test.createTestingModule({ imports: [JwtSessionsModule.forRoot({ signingKey: TEST_SIGNING_KEY })] }).compile();
      expect(moduleRef.get(Clock)).toBeInstanceOf(SystemClock);
      const tokens = await moduleRef.get(SessionService).login();
      expect(Math.abs(tokens.access_expires_at.getTime() - (Date.now() + 3600 * 1000))).toBeLessThan(5000);
    });
  });

  describe('given options', () => {
    it('apply, with header names lower-cased and cookie names kept (test_by_token_type)', async () => {
      const { config, sessions, clock } = await setup({
        accessExpiresIn: 60,
        refreshExpiresIn: 120,
        accessHeader: 'X-Access-Token',
        refreshHeader: 'X-Refresh',
        csrfHeader: 'X-XSRF-TOKEN',
        accessCookie: 'Access_Cookie',
        refreshCookie: 'refresh-cookie',
        maxTokenLength: 4096,
        verify: { issuer: 'me', leeway: 5 },
        cookieOptions: { secure: false, sameSite: 'strict' },
      });
      expect(config.headers).toEqual({ access: 'x-access-token', refresh: 'x-refresh', csrf: 'x-xsrf-token' });
      expect(config.cookies).toEqual({ access: 'Access_Cookie', refresh: 'refresh-cookie' });
      expect(config.maxTokenLength).toBe(4096);
      expect(config.verify).toEqual({ issuer: 'me', leeway: 5 });
      expect(config.cookieOptions).toEqual({ secure: false, sameSite: 'strict', refreshPath: '/', rejectCrossSite: false, trustedOrigins: new Set() });
      const tokens = await sessions.login({ payload: { iss: 'me' } });
      expect(tokens.access_expires_at.getTime()).toBe(clock.now() + 60_000);
      expect(tokens.refresh_expires_at.getTime()).toBe(clock.now() + 120_000);
    });

    it('are resolved into a frozen config that later changes to the options cannot reach', async () => {
      const verify = { issuer: 'me' };
      const { config } = await setup({ verify });
      verify.issuer = 'someone else';
      expect(config.verify).toEqual({ issuer: 'me' });
      expect(Object.isFrozen(config)).toBe(true);
      expect(Object.isFrozen(config.verify)).toBe(true);
      expect(Object.isFrozen(config.cookieOptions)).toBe(true);
    });
  });

  describe('validation fails the start with MalconfiguredError naming the option', () => {
    it.each<[string, JwtSessionsModuleOptions, string]>([
      ['a zero accessExpiresIn', { accessExpiresIn: 0 }, 'accessExpiresIn'],
      ['a negative accessExpiresIn', { accessExpiresIn: -1 }, 'accessExpiresIn'],
      ['a fractional accessExpiresIn', { accessExpiresIn: 1.5 }, 'accessExpiresIn'],
      ['a string accessExpiresIn', { accessExpiresIn: '3600' as unknown as number }, 'accessExpiresIn'],
      ['a NaN accessExpiresIn', { accessExpiresIn: Number.NaN }, 'accessExpiresIn'],
      ['an infinite refreshExpiresIn', { refreshExpiresIn: Number.POSITIVE_INFINITY }, 'refreshExpiresIn'],
      ['a zero refreshExpiresIn', { refreshExpiresIn: 0 }, 'refreshExpiresIn'],
      ['a header name with a space', { accessHeader: 'X Access' }, 'accessHeader'],
      ['a header name with a colon', { refreshHeader: 'X-Refresh:' }, 'refreshHeader'],
      ['an empty header name', { csrfHeader: '' }, 'csrfHeader'],
      ['a header name with a newline', { accessHeader: 'X-Access\r\nSet-Cookie' }, 'accessHeader'],
      ['a non-ASCII header name', { csrfHeader: 'X-Ä' }, 'csrfHeader'],
      ['a cookie name with a semicolon', { accessCookie: 'jwt;access' }, 'accessCookie'],
      ['a cookie name with an equals sign', { refreshCookie: 'jwt=refresh' }, 'refreshCookie'],
      ['an unknown algorithm', { algorithm: 'XS256' as never }, 'algorithm'],
      ['algorithm none', { algorithm: 'none' as never }, 'algorithm'],
      ['a tiny maxTokenLength', { maxTokenLength: 100 }, 'maxTokenLength'],
      ['a huge maxTokenLength', { maxTokenLength: 100_000 }, 'maxTokenLength'],
      ['a negative leeway', { verify: { leeway: -1 } }, 'verify.leeway'],
      ['a fractional leeway', { verify: { leeway: 0.5 } }, 'verify.leeway'],
      ['a leeway over a day', { verify: { leeway: 86401 } }, 'verify.leeway'],
      ['an empty issuer', { verify: { issuer: '' } }, 'verify.issuer'],
      ['an empty issuer list', { verify: { issuer: [] } }, 'verify.issuer'],
      ['an issuer list with an empty entry', { verify: { issuer: ['me', ''] } }, 'verify.issuer'],
      ['a numeric audience', { verify: { audience: 42 as unknown as string } }, 'verify.audience'],
      ['an empty subject', { verify: { subject: '' } }, 'verify.subject'],
      ['verify that is not an object', { verify: 'issuer' as never }, 'verify'],
      ['an unknown sameSite', { cookieOptions: { sameSite: 'loose' as never } }, 'cookieOptions.sameSite'],
      ['a string secure flag', { cookieOptions: { secure: 'yes' as never } }, 'cookieOptions.secure'],
    ])('%s', async (_name, options, option) => {
      const error = await malconfigured(options);
      expect(error.message).toContain(`${option}`);
      expect(error.message).toMatch(/^Invalid JwtSessionsModule options: /);
    });

    it('lists every problem at once', async () => {
      const error = await malconfigured({ accessExpiresIn: 0, accessHeader: 'bad header', verify: { leeway: -1 } });
      expect(error.message).toMatch(/accessExpiresIn: .*; accessHeader: .*; verify\.leeway: /);
    });

    it('refuses a missing signing key (test_signing_key)', async () => {
      const error = await malconfigured({ signingKey: undefined });
      expect(error.message).toContain('signingKey');
    });

    it('refuses to start without an options object', async () => {
      await expect(resolveJwtSessionsConfig(undefined)).rejects.toThrow(MalconfiguredError);
      await expect(resolveJwtSessionsConfig(null as never)).rejects.toThrow('needs an options object');
    });

    it('never shows the configuration problem to a client', async () => {
      const error = await malconfigured({ signingKey: 'short' });
      expect(error.getStatus()).toBe(500);
      expect(error.getResponse()).toEqual({
        statusCode: 500, error: 'Internal Server Error', code: 'ERR_JWT_SESSIONS_MALCONFIGURED', message: 'Internal Server Error',
      });
    });

    it('refuses an unknown option, such as a misspelt one, instead of silently keeping the default', async () => {
      await expect(setup({ accesExpiresIn: 60 } as JwtSessionsModuleOptions)).rejects.toThrow(/accesExpiresIn/);
      await expect(setup({ verify: { issuers: 'me' } } as unknown as JwtSessionsModuleOptions)).rejects.toThrow(/verify\.issuers/);
      await expect(setup({ cookieOptions: { httpOnly: false } } as unknown as JwtSessionsModuleOptions)).rejects.toThrow(/cookieOptions\.httpOnly/);
    });
  });

  describe('store option (test_token_store.rb)', () => {
    it('is the memory store by default (test_setting_memory_token_store)', async () => {
      expect((await setup()).store).toBeInstanceOf(MemoryTokenStore);
      expect((await setup({ store: 'memory' })).store).toBeInstanceOf(MemoryTokenStore);
    });

    it('gives each module its own memory store', async () => {
      const first = await setup();
      const second = await setup();
      expect(first.store).not.toBe(second.store);
      const tokens = await first.sessions.login();
      expect(await second.sessions.sessionExists(tokens.access)).toBe(false);
    });

    it('uses a TokenStore instance as it is', async () => {
      const mine = new MemoryTokenStore();
      const { store, sessions } = await setup({ store: mine });
      expect(store).toBe(mine);
      await sessions.login({ namespace: 'mine' });
      expect(await mine.list('mine', Date.UTC(2026, 0, 1) / 1000)).toHaveLength(1);
    });

    it('takes a memory store with a session limit, which answers 503 when full', async () => {
      const { store, sessions } = await setup({ store: { type: 'memory', maxSessions: 1 } });
      expect(store).toBeInstanceOf(MemoryTokenStore);
      await sessions.login();
      const error = await sessions.login().then(() => null, (caught: unknown) => caught);
      expect(error).toMatchObject({ code: 'ERR_JWT_SESSIONS_STORE_UNAVAILABLE' });
      expect((error as MalconfiguredError).getStatus()).toBe(503);
    });

    it.each([0, -1, 1.5, Number.NaN])('refuses a memory store limit of %p', async (maxSessions) => {
      const error = await malconfigured({ store: { type: 'memory', maxSessions } });
      expect(error.message).toContain('store.maxSessions');
    });

    it.each([
      ['an unknown store name (test_setting_unknown_adapter)', 'tape'],
      ['an object of another type', { type: 'tape' }],
      ['an object that only looks like a store', { create: async () => undefined, find: async () => null }],
    ])('refuses %s', async (_name, store) => {
      const error = await malconfigured({ store: store as never });
      expect(error.message).toMatch(/^store must be 'memory'/);
    });
  });

  describe('forRootAsync', () => {
    it('builds the options with useFactory, injecting from imported modules', async () => {
      const moduleRef = await Test.createTestingModule({
        imports: [JwtSessionsModule.forRootAsync({
          imports: [KeysModule],
          inject: [SIGNING_KEY],
          useFactory: async (key: string) => ({ signingKey: key, accessExpiresIn: 90 }),
        })],
      }).compile();
      expect(moduleRef.get(JwtSessionsConfig).accessExpiresIn).toBe(90);
      await expectWorkingSessions(moduleRef.get(SessionService));
    });

    it('builds the options with useClass, whose own dependencies are injected', async () => {
      const moduleRef = await Test.createTestingModule({
        imports: [JwtSessionsModule.forRootAsync({ imports: [KeysModule], useClass: OptionsFactory })],
      }).compile();
      expect(moduleRef.get(JwtSessionsConfig).accessExpiresIn).toBe(120);
      await expectWorkingSessions(moduleRef.get(SessionService));
    });

    it('builds the options with useExisting, from a provider of an imported module', async () => {
      const moduleRef = await Test.createTestingModule({
        imports: [JwtSessionsModule.forRootAsync({ imports: [OptionsModule], useExisting: OptionsFactory })],
      }).compile();
      expect(moduleRef.get(JwtSessionsConfig).accessExpiresIn).toBe(120);
      await expectWorkingSessions(moduleRef.get(SessionService));
    });

    it('validates what the factory answers', async () => {
      const compiling = Test.createTestingModule({
        imports: [JwtSessionsModule.forRootAsync({ useFactory: () => ({ signingKey: TEST_SIGNING_KEY, csrfHeader: 'X CSRF' }) })],
      }).compile();
      await expect(compiling).rejects.toThrow(MalconfiguredError);
      await expect(Test.createTestingModule({
        imports: [JwtSessionsModule.forRootAsync({ useFactory: async () => ({}) })],
      }).compile()).rejects.toThrow('signingKey is required');
    });
  });

  describe('isGlobal', () => {
    it('lets a feature module inject SessionService without importing the module', async () => {
      const moduleRef = await Test.createTestingModule({
        imports: [JwtSessionsModule.forRoot({ signingKey: TEST_SIGNING_KEY, isGlobal: true }), FeatureModule],
      }).compile();
      const consumer = moduleRef.get(SessionConsumer);
      expect(consumer.sessions).toBe(moduleRef.get(SessionService));
      await expectWorkingSessions(consumer.sessions);
    });

    it('works with forRootAsync too', async () => {
      const moduleRef = await Test.createTestingModule({
        imports: [
          JwtSessionsModule.forRootAsync({ isGlobal: true, imports: [KeysModule], inject: [SIGNING_KEY], useFactory: (key: string) => ({ signingKey: key }) }),
          FeatureModule,
        ],
      }).compile();
      expect(moduleRef.get(SessionConsumer).sessions).toBeInstanceOf(SessionService);
    });

    it('is off by default: a feature module must import the module', async () => {
      for (const isGlobal of [undefined, false]) {
        await expect(Test.createTestingModule({
          imports: [JwtSessionsModule.forRoot({ signingKey: TEST_SIGNING_KEY, isGlobal }), FeatureModule],
        }).compile()).rejects.toThrow(/SessionService/);
      }
    });
  });
});
