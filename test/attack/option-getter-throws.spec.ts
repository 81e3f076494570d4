import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { InvalidOptionError, StreamQueueModule, Task, type StreamQueueModuleOptions } from '../../lib';
import { resolveConfig } from '../../lib/stream-queue.config';
import { StreamQueueMetricsModule } from '../../lib/metrics';
import { resolveMetricsConfig } from '../../lib/metrics/metrics-config';
import { StreamQueueTestingModule } from '../../lib/testing';
import { StreamQueueTracingModule } from '../../lib/tracing';
import { testOptions } from '../fixtures/test-app';
import { closeAll, randomPrefix } from '../utils/redis';

/**
 * An option whose getter throws (a config object reading an env var that is not set, a lazy
 * secret lookup) failed bootstrap with the getter's own error: `x`, with nothing saying which
 * option of which module or task it came from (a review finding; the spec failed). Each option
 * is read once, up front, and a throwing read is an InvalidOptionError naming the option, with
 * the getter's error as its cause.
 */
const cause = new Error('CONCURRENCY is not set');
const throwing = <T extends object>(target: T, option: string): T =>
  Object.defineProperty(target, option, {
    enumerable: true,
    get() {
      throw cause;
    },
  });

/** The error `act` throws, or a failure when it does not throw. */
function thrownBy(act: () => unknown): unknown {
  try {
    act();
  } catch (error) {
    return error;
  }
  throw new Error('nothing was thrown');
}

const refusalOf = (option: string) => expect.objectContaining({ name: 'InvalidOptionError', option, cause });

describe('attack: an option whose getter throws', () => {
  afterAll(closeAll);

  it('names a module option, its nested options too, with the getter error as cause', () => {
    const connection = { url: 'redis://localhost' };
    const cases: [StreamQueueModuleOptions, string][] = [
      [throwing({ connection } as StreamQueueModuleOptions, 'concurrency'), 'concurrency'],
      [{ connection: throwing({} as { url: string }, 'url') }, 'connection.url'],
      [
        { connection, queues: { mail: throwing({} as { partitions: number }, 'partitions') } },
        'queues.mail.partitions',
      ],
      [{ connection, durability: throwing({} as { replicas: number }, 'replicas') } as never, 'durability.replicas'],
    ];
    for (const [raw, option] of cases) {
      const error = thrownBy(() => resolveConfig(raw));
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect(error).toEqual(refusalOf(option));
      expect((error as Error).message).toMatch(new RegExp(`^Invalid option "${option.replace('.', '\\.')}"`));
    }
  });

  it('reads each option once: a getter answering differently on a second read is not asked twice', () => {
    let reads = 0;
    const raw = Object.defineProperty({ connection: { url: 'redis://localhost' } }, 'concurrency', {
      enumerable: true,
      get: () => (++reads === 1 ? 4 : 'four'),
    }) as StreamQueueModuleOptions;
    expect(resolveConfig(raw).concurrency).toBe(4);
    expect(reads).toBe(1);
  });

  it('fails forRoot() (which copies the options) and forRootAsync() bootstrap with the InvalidOptionError', async () => {
    const options = () => throwing(testOptions(randomPrefix(), { worker: false }), 'concurrency');
    expect(thrownBy(() => StreamQueueModule.forRoot(options()))).toEqual(refusalOf('concurrency'));
    const imported = StreamQueueModule.forRootAsync({ useFactory: () => options() });
    await expect(Test.createTestingModule({ imports: [imported] }).compile()).rejects.toEqual(refusalOf('concurrency'));
  });

  it('reads the options a useClass factory inherits from its class, naming a throwing one', async () => {
    class Settings {
      connection = testOptions(randomPrefix()).connection;
      get worker(): boolean {
        throw cause;
      }
      create(): StreamQueueModuleOptions {
        return this;
      }
    }
    const imported = StreamQueueModule.forRootAsync({ useClass: Settings });
    await expect(Test.createTestingModule({ imports: [imported] }).compile()).rejects.toEqual(refusalOf('worker'));
  });

  it('names an option of the testing, metrics and tracing modules the same way', () => {
    expect(thrownBy(() => StreamQueueMetricsModule.forRoot(throwing({}, 'timeoutMs')))).toEqual(refusalOf('timeoutMs'));
    expect(thrownBy(() => resolveMetricsConfig(throwing({}, 'queues')))).toEqual(refusalOf('queues'));
    expect(
      thrownBy(() => StreamQueueTestingModule.forRoot(throwing(testOptions(randomPrefix()), 'concurrency'))),
    ).toEqual(refusalOf('concurrency'));
    expect(thrownBy(() => StreamQueueTracingModule.forRoot(throwing({}, 'askSamplerForUnsampledTraces')))).toEqual(
      refusalOf('askSamplerForUnsampledTraces'),
    );
  });

  it('leaves a name that is no string to bootstrap to refuse, reading the options by it', () => {
    const handlers = () => {
      class Handlers {
        @Task(Symbol('not a name') as never, { timeoutMs: 5 })
        run(): void {}
      }
      return Handlers;
    };
    expect(handlers).not.toThrow();
  });

  it('names a @Task() option, nested ones too, where the class is defined', () => {
    const define = (options: object) =>
      thrownBy(() => {
        @Injectable()
        class Handlers {
          @Task('getter.task', options)
          run(): void {}
        }
        return Handlers;
      });
    expect(define(throwing({}, 'timeoutMs'))).toEqual(refusalOf("@Task('getter.task').timeoutMs"));
    expect(define({ backoff: throwing({ type: 'fixed' }, 'delayMs') })).toEqual(
      refusalOf("@Task('getter.task').backoff.delayMs"),
    );
  });
});
