import { Test } from '@nestjs/testing';
import { InvalidOptionError, StreamQueueModule, type StreamQueueModuleOptions, type TaskOptions } from '../../lib';
import { resolveConfig } from '../../lib/stream-queue.config';
import { resolveTaskOptions } from '../../lib/task/resolved-task-options';
import { RecordingLogger } from '../fixtures/recording-logger';

/**
 * An option name nobody reads is a typo: `concurency: 50` or `@Task('x', { maxAttempt: 10 })`
 * was silently ignored and the default ran instead, with nothing said. Every option object of
 * the module and of @Task() now refuses a name it does not know, naming its full path (a review
 * finding; every case below failed).
 */
const connection = { url: 'redis://127.0.0.1:1' };

function refusal(fn: () => unknown): InvalidOptionError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionError);
    return error as InvalidOptionError;
  }
  throw new Error('accepted');
}

describe('attack: misspelled option names', () => {
  it.each<[string, Record<string, unknown>, string]>([
    ['concurency', { concurency: 50 }, 'concurrency'],
    ['leaseMS', { leaseMS: 60_000 }, 'leaseMs'],
    ['queues.mail.partition', { queues: { mail: { partition: 4 } } }, 'partitions'],
    ['durability.replica', { durability: { replicas: 1, timeoutMs: 100, replica: 2 } }, 'replicas'],
  ])('module options: refuses %s, naming it and the names it takes', (option, extra, known) => {
    const error = refusal(() => resolveConfig({ connection, ...extra } as StreamQueueModuleOptions));
    expect(error.option).toBe(option);
    expect(error.message).toContain(known);
  });

  it.each<[string, Record<string, unknown>]>([
    ["@Task('job').maxAttempt", { maxAttempt: 10 }],
    ["@Task('job').timeout", { timeout: 5_000 }],
    ["@Task('job').backoff.delay", { backoff: { delay: 10 } }],
    ["@Task('job').rateLimit.per", { rateLimit: { max: 1, perMs: 1_000, per: 1 } }],
    ["@Task('job').groupRateLimit.window", { groupRateLimit: { max: 1, perMs: 1_000, window: 1 } }],
  ])('@Task options: refuses %s, naming it', (option, raw) => {
    const error = refusal(() => resolveTaskOptions('job', raw as TaskOptions, 1_000));
    expect(error.option).toBe(option);
  });

  it('every documented name is still taken', () => {
    expect(() =>
      resolveConfig({
        connection,
        prefix: 'p',
        concurrency: 1,
        worker: true,
        leaseMs: 30_000,
        heartbeatIntervalMs: 5_000,
        sweepIntervalMs: 2_000,
        maxStallMs: 60_000,
        maxDeliveries: 5,
        shutdownTimeoutMs: 1,
        resultTtlMs: 1_000,
        priorityAgingMs: 1,
        maxPayloadBytes: 1,
        deadLetterMaxLen: 1,
        blockMs: 1,
        ackBatchMs: 0,
        retryAttempts: 0,
        retryDelay: 0,
        durability: { replicas: 1, timeoutMs: 1 },
        runContext: false,
        queues: { mail: { partitions: 2 } },
      }),
    ).not.toThrow();
    const all: Required<TaskOptions> = {
      queue: 'q',
      maxAttempts: 1,
      backoff: { type: 'fixed', delayMs: 1, maxDelayMs: 1, jitter: false },
      timeoutMs: 1,
      resultTtlMs: 1_000,
      every: '1h',
      cron: '* * * * *',
      timezone: 'UTC',
      globalConcurrency: 1,
      groupConcurrency: 1,
      rateLimit: { max: 1, perMs: 1 },
      groupRateLimit: { max: 1, perMs: 1 },
    };
    const { every: _every, cron: _cron, timezone: _timezone, ...limited } = all;
    expect(() => resolveTaskOptions('job', limited, 1_000)).not.toThrow();
    const { globalConcurrency: _g, groupConcurrency: _c, rateLimit: _r, groupRateLimit: _gr, every: _e, ...cron } = all;
    expect(() => resolveTaskOptions('job', cron, 1_000)).not.toThrow();
  });

  it('forRootAsync: a factory returning a misspelled name fails bootstrap naming it', async () => {
    const error = await Test.createTestingModule({
      imports: [StreamQueueModule.forRootAsync({ useFactory: () => ({ connection, concurency: 50 }) })],
    })
      .setLogger(new RecordingLogger())
      .compile()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).option).toBe('concurency');
  });
});
