/**
 * Jest runs in native ESM mode (NestJS 12 and jose 6 are ESM-only); see package.json "test".
 * The sample's e2e suites run twice: on the memory store and on a real Redis; the browser suite drives the sample's SPA.
 */
const base = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true }] },
};

export default {
  projects: [
    { ...base, displayName: 'unit', testRegex: 'test/(?!e2e/|browser/).*\\.spec\\.ts$' },
    { ...base, displayName: 'e2e:memory', testRegex: 'test/e2e/.*\\.e2e-spec\\.ts$' },
    {
      ...base,
      displayName: 'e2e:redis',
      testRegex: 'test/e2e/.*\\.e2e-spec\\.ts$',
      setupFilesAfterEnv: ['<rootDir>/test/e2e/support/redis-store.setup.ts'],
    },
    // The sample's single-page app in headless Chromium (Debian's chromium package, driven by playwright-core).
    { ...base, displayName: 'browser', testRegex: 'test/browser/.*\\.spec\\.ts$', testTimeout: 60000 },
  ],
};
