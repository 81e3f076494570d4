/**
 * Redis-backed suites share one server; each file uses its own key prefix.
 * STREAM_QUEUE_TOPOLOGY=cluster runs them on a local Redis Cluster instead (`npm run test:cluster`).
 * test/topology/ holds specs that start their own cluster or Sentinel group and kill its nodes:
 * they run in their own steps (`npm run test:cluster`, `npm run test:sentinel`), SQ_TOPOLOGY_SPECS=1.
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.spec.ts'],
  // The package's own name, as sample-app and README examples import it (tsconfig.json `paths`).
  moduleNameMapper: {
    '^nest-stream-queue$': '<rootDir>/lib',
    '^nest-stream-queue/testing$': '<rootDir>/lib/testing',
    '^nest-stream-queue/dashboard$': '<rootDir>/lib/dashboard',
    '^nest-stream-queue/metrics$': '<rootDir>/lib/metrics',
    '^nest-stream-queue/tracing$': '<rootDir>/lib/tracing',
    '^nest-stream-queue/terminus$': '<rootDir>/lib/terminus',
  },
  testPathIgnorePatterns:
    process.env.SQ_TOPOLOGY_SPECS === '1' ? ['/node_modules/'] : ['/node_modules/', '/test/topology/'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  globalSetup: '<rootDir>/test/utils/global-setup.ts',
  globalTeardown: '<rootDir>/test/utils/global-teardown.ts',
  testTimeout: 60_000,
};
