import type { SuiteRedisGlobal } from './global-setup';

/** Jest global teardown: stops the Redis that global-setup.ts started (nothing, for REDIS_URL). */
export default async function globalTeardown(): Promise<void> {
  const state = (globalThis as SuiteRedisGlobal).__SQ_SUITE_REDIS__;
  if (!state) return;
  delete (globalThis as SuiteRedisGlobal).__SQ_SUITE_REDIS__;
  // Restored for watch mode, where the next run's setup must decide afresh.
  if (state.previousUrl === undefined) delete process.env.REDIS_URL;
  else process.env.REDIS_URL = state.previousUrl;
  delete process.env.SQ_TEST_CLUSTER_NODES;
  await state.redis.stop();
}
