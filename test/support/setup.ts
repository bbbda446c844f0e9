import { Test } from '@nestjs/testing';
import { JwtSessionsConfig, SessionService, TokenStore, type JwtSessionsModuleOptions } from '../../lib/index.js';
import { JwtSessionsTestingModule } from '../../lib/testing/index.js';
import { ManualClock } from './manual-clock.js';

/** A 32-byte HS256 key for tests. */
export const TEST_SIGNING_KEY = 'test-signing-key-0123456789abcdef';

/**
 * Compiles the module with `forRoot` and a manual clock, and hands back what the tests drive.
 * Redis expires keys by its own clock, so Redis tests start the manual clock at the real time.
 */
export async function setup(options: JwtSessionsModuleOptions = {}, clock = new ManualClock()) {
  // The testing entry point's preset (memory store, a clock of the test's), so that it is exercised by every test.
  const moduleRef = await Test.createTestingModule({
    imports: [JwtSessionsTestingModule.forRoot({ signingKey: TEST_SIGNING_KEY, clock, ...options })],
  }).compile();
  return {
    moduleRef,
    close: () => moduleRef.close(),
    clock,
    sessions: moduleRef.get(SessionService),
    store: moduleRef.get(TokenStore),
    config: moduleRef.get(JwtSessionsConfig),
  };
}

/** The payload of a JWT, decoded without verification: for assertions only. */
export function decodePayload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
}
