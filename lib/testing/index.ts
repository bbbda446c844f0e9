/** `nestjs-jwt-sessions/testing`: helpers for the tests of apps that use the module. */
export { TestClock } from './test-clock.js';
export { JwtSessionsTestingModule, TESTING_SIGNING_KEY } from './jwt-sessions-testing.module.js';
export { loginAs } from './test-sessions.js';
export type { TestSession } from './test-sessions.js';
