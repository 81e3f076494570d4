import type { StreamQueueModuleOptions } from '../../lib';
import { Probe } from '../fixtures/probe';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix } from '../utils/redis';
import { GenerationTasksModule } from './generation-tasks';

/** Per-spec setup of the generation specs: a fresh prefix and probe, apps closed and keys deleted after each. */
export function useGenerationApps() {
  const redis = createRedis();
  const state = { prefix: '', probe: new Probe() };
  beforeEach(() => {
    state.prefix = randomPrefix();
    state.probe = new Probe();
  });
  afterEach(async () => {
    await closeApps();
    await cleanupPrefix(redis, state.prefix);
  });
  afterAll(closeAll);
  return {
    redis,
    get probe(): Probe {
      return state.probe;
    },
    /** An app with the generation tasks (keyed, periodic), recording into the spec's probe. */
    start(options: Partial<StreamQueueModuleOptions> = {}): Promise<TestApp> {
      const { prefix, probe } = state;
      return startApp({ prefix, probe, options, imports: [GenerationTasksModule.register(probe)] });
    },
  };
}
