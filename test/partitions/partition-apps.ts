import { Test } from '@nestjs/testing';
import { Injectable, Module, type ModuleMetadata } from '@nestjs/common';
import { Task, type StreamQueueModuleOptions } from '../../lib';
import { QueuePartitions } from '../../lib/partitions/queue-partitions';
import { Probe } from '../fixtures/probe';
import { useProbeApps } from '../fixtures/probe-apps';
import { logger, startApp, testOptions, type TestApp } from '../fixtures/test-app';
import { StreamQueueModule } from '../../lib';
import { ProbeModule } from '../fixtures/probe.module';
import { GenerationTasksModule } from '../generations/generation-tasks';

/** Module options of a queue 'default' spread over `partitions`. */
export const partitioned = (partitions: number, options: Partial<StreamQueueModuleOptions> = {}) => ({
  queues: { default: { partitions } },
  ...options,
});

/** Per-spec setup: a fresh prefix and probe; apps closed and keys deleted after each spec. */
export function usePartitionApps() {
  const state = useProbeApps();
  return {
    redis: state.redis,
    get prefix(): string {
      return state.prefix;
    },
    get probe(): Probe {
      return state.probe;
    },
    /** The partitions of queue 'default' as a process with `count` maps them. */
    partitions(count: number): QueuePartitions {
      return new QueuePartitions(state.prefix, 'default', count);
    },
    /** An app with the probe tasks, and more (e.g. generationTasks(probe)). */
    start(options: Partial<StreamQueueModuleOptions> = {}, imports: ModuleMetadata['imports'] = []): Promise<TestApp> {
      const { prefix, probe } = state;
      return startApp({ prefix, probe, options, imports });
    },
    /** The generation specs' keyed and periodic ('tick') tasks, recording into the probe. */
    generationTasks() {
      return GenerationTasksModule.register(state.probe);
    },
    /** Boots an app and returns its bootstrap error (closing whatever started). */
    async bootError(options: Partial<StreamQueueModuleOptions>): Promise<unknown> {
      const moduleRef = await Test.createTestingModule({
        imports: [StreamQueueModule.forRoot(testOptions(state.prefix, options)), ProbeModule.register(new Probe())],
      })
        .setLogger(logger)
        .compile();
      try {
        await moduleRef.init();
      } catch (error) {
        return error;
      } finally {
        await moduleRef.close().catch(() => undefined);
      }
      return undefined;
    },
  };
}

/** A periodic task whose first slot is an hour away: its chain is one delayed member, nothing runs. */
@Injectable()
export class HourlyTasks {
  @Task('hourly', { every: 3_600_000 })
  hourly(): void {}
}

@Module({ providers: [HourlyTasks] })
export class HourlyModule {}
