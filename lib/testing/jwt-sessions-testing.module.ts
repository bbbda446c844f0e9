import type { DynamicModule } from '@nestjs/common';
import { JwtSessionsModule } from '../jwt-sessions.module.js';
import { TestClock } from './test-clock.js';

/** The HS256 key of the testing preset: fixed, so tokens are stable between runs. Never use it outside tests. @publicApi */
export const TESTING_SIGNING_KEY = 'nestjs-jwt-sessions-testing-key-never-in-production';

/**
 * `JwtSessionsModule` preset for tests: the memory store, a fixed key, and a {@link TestClock} (get it with
 * `moduleRef.get(Clock)`). Any option can be overridden.
 * @example
 * ```ts
 * const moduleRef = await Test.createTestingModule({
 *   imports: [JwtSessionsTestingModule.forRoot()],
 *   controllers: [ProfileController],
 * }).compile();
 * ```
 * @publicApi
 */
export class JwtSessionsTestingModule {
  static forRoot(options: Parameters<typeof JwtSessionsModule.forRoot>[0] = {}): DynamicModule {
    const keys = options.keys !== undefined || options.privateKey !== undefined ? {} : { signingKey: TESTING_SIGNING_KEY };
    return JwtSessionsModule.forRoot({ ...keys, store: 'memory', clock: new TestClock(), ...options });
  }
}
