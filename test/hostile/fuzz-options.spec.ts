import fc from 'fast-check';
import type Redis from 'ioredis';
import { InvalidOptionError, StreamQueueError, StreamQueueModule, type StreamQueueModuleOptions } from '../../lib';
import { resolveConfig } from '../../lib/stream-queue.config';
import { resolveTaskOptions } from '../../lib/task/resolved-task-options';
import { Test } from '@nestjs/testing';
import { buildApp, closeHostileApps, HostileTaskModule } from '../fixtures/hostile-tasks';
import { RecordingLogger } from '../fixtures/recording-logger';
import { testOptions } from '../fixtures/test-app';
import { startRedisServer, type RedisServerHandle } from '../utils/redis-server';
import { closeAll, createRedis, randomPrefix } from '../utils/redis';

/*
 * Every bad module option and every bad @Task option is refused with an InvalidOptionError that
 * names it, whatever the value (fast-check draws them), before anything touches Redis.
 * `undefined` (and, by the `??` defaulting, `null`) means "use the default" and is not drawn.
 */

/** SQ_FUZZ_RUNS=5000 for a deeper search; the default keeps the file fast. */
const RUNS = { numRuns: Number(process.env.SQ_FUZZ_RUNS ?? 300) };
const connection = { url: 'redis://127.0.0.1:1' };

/** The longest Node timer: durations that become timers stop there. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** An integer option's range; `alsoAccepted`: values below `min` it takes all the same. */
interface IntegerRange {
  min: number;
  max?: number;
  alsoAccepted?: number;
}

/** The integer options and the ranges the README documents (the error message states them). */
const INTEGER_OPTIONS: Record<string, IntegerRange> = {
  concurrency: { min: 1, max: 10_000 },
  leaseMs: { min: 100, max: MAX_TIMER_MS },
  sweepIntervalMs: { min: 10, max: MAX_TIMER_MS },
  maxStallMs: { min: 500 },
  maxDeliveries: { min: 1 },
  shutdownTimeoutMs: { min: 0, max: MAX_TIMER_MS },
  resultTtlMs: { min: 1_000, alsoAccepted: 0 }, // 0 keeps nothing; any other value at least 1 s
  maxPayloadBytes: { min: 1, max: 512 * 1_048_576 },
  deadLetterMaxLen: { min: 1 },
  blockMs: { min: 1, max: 60_000 },
  ackBatchMs: { min: 0, max: 1_000 },
};

/** Values that are not integers at all: no integer option may accept one. */
const notAnInteger = fc.oneof(
  fc.double({ noInteger: true }), // fractions, NaN, ±Infinity
  fc.string(),
  fc.boolean(),
  fc.bigInt(),
  fc.constant(Symbol('s')),
  fc.object(),
  fc.array(fc.integer()),
  fc.constant(() => 5),
  fc.constant(new Date(5)),
  fc.constant(new Number(5)),
);

/** An integer outside [min, max] (beyond the safe range too). */
const outOfRange = ({ min, max, alsoAccepted }: IntegerRange) =>
  fc.oneof(
    fc.integer({ min: Number.MIN_SAFE_INTEGER, max: min - 1 }).filter((value) => value !== alsoAccepted),
    fc.constant(-Number.MAX_VALUE),
    ...(max === undefined
      ? [fc.constant(2 ** 60)]
      : [fc.integer({ min: max + 1, max: Number.MAX_SAFE_INTEGER }), fc.constant(1e300)]),
  );

/** The InvalidOptionError `fn` throws; fails naming `what` when it throws nothing or something else. */
function refusal(fn: () => unknown, what: string): InvalidOptionError {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof InvalidOptionError))
      throw new Error(`${what}: threw ${String(error)} instead of an InvalidOptionError`);
    return error;
  }
  throw new Error(`${what}: accepted`);
}

function expectNamed(error: InvalidOptionError, option: string): void {
  expect(error).toBeInstanceOf(StreamQueueError);
  expect(error.code).toBe('INVALID_OPTION');
  expect(error.option).toBe(option);
  expect(error.message).toContain(`"${option}"`);
  expect(error.message).toMatch(/expected .+, received /);
}

const show = (value: unknown) =>
  typeof value === 'symbol' || typeof value === 'bigint' ? String(value) : fc.stringify(value);

describe('module options, fuzzed (resolveConfig)', () => {
  it('accepts every in-range integer (the refusals below are about the values, not the harness)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...Object.keys(INTEGER_OPTIONS)), fc.nat(), (name, seed) => {
        const { min, max = min + 1_000_000 } = INTEGER_OPTIONS[name];
        const value = min + (seed % (max - min + 1));
        const extra = name === 'leaseMs' ? { heartbeatIntervalMs: Math.floor(value / 3) } : {};
        expect(
          (resolveConfig({ connection, [name]: value, ...extra }) as unknown as Record<string, unknown>)[name],
        ).toBe(value);
      }),
      RUNS,
    );
  });

  it('refuses a non-integer for every integer option, naming it', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.keys(INTEGER_OPTIONS), 'heartbeatIntervalMs'),
        notAnInteger,
        (name, value) => {
          expectNamed(
            refusal(
              () => resolveConfig({ connection, [name]: value } as StreamQueueModuleOptions),
              `${name}=${show(value)}`,
            ),
            name,
          );
        },
      ),
      RUNS,
    );
  });

  it('refuses an out-of-range integer for every integer option, naming it', () => {
    const arbitrary = fc
      .constantFrom(...Object.keys(INTEGER_OPTIONS))
      .chain((name) => fc.tuple(fc.constant(name), outOfRange(INTEGER_OPTIONS[name])));
    fc.assert(
      fc.property(arbitrary, ([name, value]) => {
        expectNamed(
          refusal(() => resolveConfig({ connection, [name]: value }), `${name}=${value}`),
          name,
        );
      }),
      RUNS,
    );
  });

  it('refuses a heartbeat longer than a third of the lease, or under 10 ms', () => {
    fc.assert(
      fc.property(fc.integer({ min: 300, max: 1_000_000 }), fc.integer({ min: 1, max: 1_000_000 }), (leaseMs, over) => {
        const heartbeatIntervalMs = Math.floor(leaseMs / 3) + over;
        expectNamed(
          refusal(() => resolveConfig({ connection, leaseMs, heartbeatIntervalMs }), `lease ${leaseMs}`),
          'heartbeatIntervalMs',
        );
      }),
      RUNS,
    );
    expectNamed(
      refusal(() => resolveConfig({ connection, heartbeatIntervalMs: 9 }), 'heartbeat 9'),
      'heartbeatIntervalMs',
    );
  });

  it('refuses every prefix outside [A-Za-z0-9_.-]{1,64} (braces, colons, globs, spaces, empty, long), naming it', () => {
    const badString = fc.oneof(
      fc.string({ maxLength: 80 }).filter((s) => !/^[A-Za-z0-9_.-]{1,64}$/.test(s)),
      fc.constantFrom('', '{sq}', 'sq:x', 'sq*', 'a b', 'a\nb', 'x'.repeat(65), 'ü', '[a]', 'sq}', '{'),
      fc
        .tuple(fc.stringMatching(/^[A-Za-z0-9]{1,10}$/), fc.constantFrom('{', '}', ':', '*', '?', '[', ' ', '\0', '/'))
        .map(([a, b]) => a + b),
    );
    fc.assert(
      fc.property(
        fc.oneof(
          badString,
          notAnInteger.filter((v) => typeof v !== 'string'),
          fc.integer(),
        ),
        (prefix) => {
          expectNamed(
            refusal(() => resolveConfig({ connection, prefix: prefix as string }), `prefix=${show(prefix)}`),
            'prefix',
          );
        },
      ),
      RUNS,
    );
  });

  it('refuses a non-boolean worker, a missing or non-object connection, a non-string url, and non-object options', () => {
    fc.assert(
      fc.property(
        fc.anything().filter((v) => typeof v !== 'boolean' && v != null),
        (worker) => {
          expectNamed(
            refusal(() => resolveConfig({ connection, worker: worker as boolean }), `worker=${show(worker)}`),
            'worker',
          );
        },
      ),
      RUNS,
    );
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null), fc.constant(undefined)),
        (bad) => {
          expectNamed(
            refusal(() => resolveConfig({ connection: bad as never }), `connection=${show(bad)}`),
            'connection',
          );
        },
      ),
      RUNS,
    );
    fc.assert(
      fc.property(
        fc.anything().filter((v) => typeof v !== 'string'),
        (url) => {
          expectNamed(
            refusal(() => resolveConfig({ connection: { url: url as string } }), `url=${show(url)}`),
            'connection.url',
          );
        },
      ),
      RUNS,
    );
    for (const raw of [undefined, null, 'redis://localhost', 6379, true]) {
      expectNamed(
        refusal(() => resolveConfig(raw as never), `options=${show(raw)}`),
        'options',
      );
    }
  });
});

describe('@Task options, fuzzed (resolveTaskOptions)', () => {
  const at = (option: string) => `@Task('job').${option}`;
  const resolve = (raw: unknown) => resolveTaskOptions('job', raw as never, 3_600_000);

  it('refuses bad integers for maxAttempts, timeoutMs, resultTtlMs and the backoff delays, naming them', () => {
    const ranges: Record<string, IntegerRange> = {
      maxAttempts: { min: 1, max: 1_000 },
      timeoutMs: { min: 1, max: MAX_TIMER_MS },
      resultTtlMs: { min: 1_000, alsoAccepted: 0 }, // 0 keeps nothing; any other value at least 1 s
    };
    const top = fc
      .constantFrom(...Object.keys(ranges))
      .chain((name) => fc.tuple(fc.constant(name), fc.oneof(notAnInteger, outOfRange(ranges[name]))));
    fc.assert(
      fc.property(top, ([name, value]) => {
        expectNamed(
          refusal(() => resolve({ [name]: value }), `${name}=${show(value)}`),
          at(name),
        );
      }),
      RUNS,
    );
    const delays = fc.tuple(fc.constantFrom('delayMs', 'maxDelayMs'), fc.oneof(notAnInteger, fc.integer({ max: -1 })));
    fc.assert(
      fc.property(delays, ([name, value]) => {
        expectNamed(
          refusal(() => resolve({ backoff: { [name]: value } }), `backoff.${name}=${show(value)}`),
          at(`backoff.${name}`),
        );
      }),
      RUNS,
    );
  });

  it('refuses a backoff type other than "exponential"/"fixed", a non-boolean jitter, and a bad queue name', () => {
    fc.assert(
      fc.property(
        fc.anything().filter((v) => v !== 'exponential' && v !== 'fixed' && v !== undefined && v !== null),
        (type) => {
          expectNamed(
            refusal(() => resolve({ backoff: { type } }), `type=${show(type)}`),
            at('backoff.type'),
          );
        },
      ),
      RUNS,
    );
    fc.assert(
      fc.property(
        fc.anything().filter((v) => typeof v !== 'boolean' && v != null),
        (jitter) => {
          expectNamed(
            refusal(() => resolve({ backoff: { jitter } }), `jitter=${show(jitter)}`),
            at('backoff.jitter'),
          );
        },
      ),
      RUNS,
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 140 }).filter((s) => !/^[A-Za-z0-9_.:-]{1,128}$/.test(s)),
          fc.integer(),
          fc.object(),
        ),
        (queue) => {
          expectNamed(
            refusal(() => resolve({ queue }), `queue=${show(queue)}`),
            at('queue'),
          );
        },
      ),
      RUNS,
    );
  });

  // `backoff: 1000` (meaning a delay) or `backoff: 'fixed'` (meaning a type) are easy mistakes:
  // they must not silently become the default exponential backoff.
  it('refuses a backoff that is not an object, naming it', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer(), fc.string(), fc.boolean(), fc.array(fc.integer(), { minLength: 1 })),
        (backoff) => {
          expectNamed(
            refusal(() => resolve({ backoff }), `backoff=${show(backoff)}`),
            at('backoff'),
          );
        },
      ),
      { numRuns: 50 },
    );
  });

  it('refuses a bad every, a bad cron expression, a bad timezone, both every and cron, and a timezone without cron', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.integer({ max: 9 }),
          fc.double({ noInteger: true }),
          fc.constantFrom('', 'soon', '5 minutes', '1w', '-1s', '0ms', '1.5s', 'ms'),
          fc.boolean(),
          fc.object(),
        ),
        (every) => {
          expectNamed(
            refusal(() => resolve({ every }), `every=${show(every)}`),
            at('every'),
          );
        },
      ),
      RUNS,
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.constantFrom(' ', 'not a cron', '61 * * * *', '* * * * * * *', '*/0 * * * *', '0 0 31 2 *'),
          fc.integer(),
          fc.object(),
        ),
        (cron) => {
          expectNamed(
            refusal(() => resolve({ cron }), `cron=${show(cron)}`),
            at('cron'),
          );
        },
      ),
      { numRuns: 50 },
    );
    const tz = refusal(() => resolve({ cron: '* * * * *', timezone: 42 }), 'timezone=42');
    expectNamed(tz, at('timezone'));
    // An unknown zone is the timezone's fault, not the expression's: named as such.
    expectNamed(
      refusal(() => resolve({ cron: '* * * * *', timezone: 'Mars/Olympus_Mons' }), 'unknown zone'),
      at('timezone'),
    );
    expectNamed(
      refusal(() => resolve({ every: '1s', cron: '* * * * *' }), 'every+cron'),
      at('every'),
    );
    expectNamed(
      refusal(() => resolve({ timezone: 'Europe/Paris' }), 'timezone alone'),
      at('timezone'),
    );
  });

  // The README promises "5 or 6 fields". cron-parser fills missing fields with "*", so an empty
  // string (an unset environment variable) or "0 8" silently becomes a task that runs every minute.
  it('refuses a cron with fewer than 5 or more than 6 fields, the empty string included', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 0, max: 4 })
          .chain((n) => fc.array(fc.constantFrom('*', '0', '1', '*/5'), { minLength: n, maxLength: n })),
        (fields) => {
          const cron = fields.join(' ');
          expectNamed(
            refusal(() => resolve({ cron }), `cron=${JSON.stringify(cron)}`),
            at('cron'),
          );
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('bad options through a real bootstrap', () => {
  let server: RedisServerHandle;
  let admin: Redis;

  beforeAll(async () => {
    server = await startRedisServer();
    admin = createRedis({}, server.url);
  });
  afterEach(closeHostileApps);
  afterAll(async () => {
    await closeAll();
    await server.stop();
  });

  /** Connections open on the server (this spec's admin included) and its key count. */
  async function footprint(): Promise<{ clients: number; keys: number }> {
    const clients = Number(/connected_clients:(\d+)/.exec(await admin.info('clients'))?.[1]);
    return { clients, keys: await admin.dbsize() };
  }

  /** Compiles and inits; returns the error, failing if it is not an InvalidOptionError. */
  async function bootstrapError(run: () => Promise<unknown>): Promise<InvalidOptionError> {
    try {
      await run();
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidOptionError);
      return error as InvalidOptionError;
    }
    throw new Error('bootstrap succeeded');
  }

  it.each<[string, Partial<StreamQueueModuleOptions> | (() => Partial<StreamQueueModuleOptions>)]>([
    ['prefix', { prefix: '{evil}' }],
    ['concurrency', { concurrency: 0 }],
    ['leaseMs', { leaseMs: 1.5 }],
    ['maxPayloadBytes', { maxPayloadBytes: -1 }],
    ['worker', { worker: 'yes' as never }],
    ['blockMs', { blockMs: 120_000 }],
    ['connection.options.keyPrefix', () => ({ connection: { url: server.url, options: { keyPrefix: 'app:' } } })],
    ['connection.url', () => ({ connection: { url: `${server.url}#` } })],
  ])('forRoot with a bad %s fails bootstrap naming it, before any connection or write', async (option, bad) => {
    const before = await footprint();
    const overrides = typeof bad === 'function' ? bad() : bad;
    const error = await bootstrapError(async () =>
      (await buildApp(testOptions(randomPrefix(), { connection: { url: server.url }, ...overrides }))).init(),
    );
    expect(error.option).toBe(option);
    expect(await footprint()).toEqual(before);
  });

  it('forRootAsync with a factory returning a bad option fails bootstrap the same way', async () => {
    const before = await footprint();
    const error = await bootstrapError(async () => {
      const moduleRef = await Test.createTestingModule({
        imports: [
          StreamQueueModule.forRootAsync({
            useFactory: async () => ({ connection: { url: server.url }, ackBatchMs: 5_000 }),
          }),
        ],
      })
        .setLogger(new RecordingLogger())
        .compile();
      await moduleRef.init();
      await moduleRef.close(); // not reached: the config factory throws during compile
    });
    expect(error.option).toBe('ackBatchMs');
    expect(await footprint()).toEqual(before);
  });

  it('a @Task with a bad option fails bootstrap naming the task and the option, writing nothing', async () => {
    const before = await footprint();
    const error = await bootstrapError(async () => {
      const app = await buildApp(testOptions(randomPrefix(), { connection: { url: server.url } }), {
        imports: [HostileTaskModule.register('job', { maxAttempts: 0 })],
      });
      await app.init();
    });
    expect(error.option).toBe("@Task('job').maxAttempts");
    expect((await footprint()).keys).toBe(before.keys);
  });

  // A task name is written into every message and checked at enqueue: a handler whose name
  // enqueue can never accept (or that would break the key layout) must fail bootstrap, not
  // register a handler that can never be called.
  it.each<[string, unknown]>([
    ['empty', ''],
    ['with a space', 'send email'],
    ['with braces', '{sq:default}'],
    ['too long', 'x'.repeat(129)],
    ['not a string', 42],
  ])('a @Task name that is %s fails bootstrap with an InvalidOptionError, writing nothing', async (_label, name) => {
    const before = await footprint();
    await bootstrapError(async () => {
      const app = await buildApp(testOptions(randomPrefix(), { connection: { url: server.url } }), {
        imports: [HostileTaskModule.register(name, { every: '1h' })],
      });
      await app.init();
    });
    expect((await footprint()).keys).toBe(before.keys);
  });
});
