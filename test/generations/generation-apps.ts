import type { StreamQueueModuleOptions } from '../../lib';
import type { Probe } from '../fixtures/probe';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp, type TestApp } from '../fixtures/test-app';
import { GenerationTasksModule } from './generation-tasks';

/** Per-spec setup of the generation specs: a fresh prefix and probe, apps closed and keys deleted after each. */
export function useGenerationApps() {
  const state = useProbeApps();
  return {
    redis: state.redis,
    get prefix(): string {
      return state.prefix;
    },
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
