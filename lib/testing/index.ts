/**
 * `nest-stream-queue/testing`: a real Redis for tests, a prefix per test file, and `drain()`.
 * No mocks: specs run the module as it runs in production.
 */
export { createTestRedis, type CreateTestRedisOptions, type TestRedis } from './create-test-redis';
export { drain, type DrainOptions } from './drain';
export { DrainTimeoutError, type QueueBacklog } from '../errors/drain-timeout.error';
export { TESTING_PREFIX } from './prefix-cleaner';
export { StreamQueueTestingModule, type StreamQueueTestingOptions } from './stream-queue-testing.module';
export { cleanupPrefix, testPrefix } from './test-prefix';
