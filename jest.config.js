/** Redis-backed suites share one server; each file uses its own key prefix. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.spec.ts'],
  // The package's own name, as sample-app and README examples import it (tsconfig.json `paths`).
  moduleNameMapper: {
    '^nest-stream-queue$': '<rootDir>/lib',
    '^nest-stream-queue/testing$': '<rootDir>/lib/testing',
    '^nest-stream-queue/dashboard$': '<rootDir>/lib/dashboard',
  },
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  globalSetup: '<rootDir>/test/utils/global-setup.ts',
  globalTeardown: '<rootDir>/test/utils/global-teardown.ts',
  testTimeout: 60_000,
};
