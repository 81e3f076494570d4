import { Redis } from 'ioredis';
import { InvalidOptionError, type StreamQueueModuleOptions } from '../../lib';
import { resolveConfig } from '../../lib/stream-queue.config';

const connection = { url: 'redis://localhost' };

/** The InvalidOptionError resolveConfig throws for `raw`, or a failure when it does not throw. */
function rejection(raw: unknown): InvalidOptionError {
  try {
    resolveConfig(raw as StreamQueueModuleOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionError);
    return error as InvalidOptionError;
  }
  throw new Error(`resolveConfig accepted ${JSON.stringify(raw)}`);
}

describe('resolveConfig', () => {
  it('applies every default in one place and freezes the result', () => {
    const config = resolveConfig({ connection });
    expect(config).toEqual({
      connection,
      prefix: 'sq',
      worker: true,
      concurrency: 10,
      leaseMs: 30_000,
      heartbeatIntervalMs: 5_000,
      sweepIntervalMs: 2_000,
      maxStallMs: 60_000,
      maxDeliveries: 5,
      shutdownTimeoutMs: 10_000,
      resultTtlMs: 3_600_000,
      maxPayloadBytes: 1_048_576,
      deadLetterMaxLen: 10_000,
      blockMs: 1_000,
      ackBatchMs: 0,
      retryAttempts: 9,
      retryDelay: 3_000,
      offlineTimeoutMs: 10_000,
      queues: new Map(),
      priorityAgingMs: 1_000,
      runContext: false,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads queues.<queue>.partitions, 1 to 1024, naming the option when invalid', () => {
    const config = resolveConfig({ connection, queues: { emails: { partitions: 6 }, other: {} } });
    expect([...config.queues]).toEqual([
      ['emails', { partitions: 6 }],
      ['other', { partitions: 1 }],
    ]);
    for (const bad of [0, -1, 1.5, 1_025, '4', null]) {
      expect(() => resolveConfig({ connection, queues: { emails: { partitions: bad as number } } })).toThrow(
        /Invalid option "queues\.emails\.partitions": expected an integer from 1 to 1024/,
      );
    }
    expect(() => resolveConfig({ connection, queues: { 'bad name!': { partitions: 2 } } })).toThrow(
      /queues\.bad name!/,
    );
    expect(() => resolveConfig({ connection, queues: [] as never })).toThrow(/Invalid option "queues"/);
    expect(() => resolveConfig({ connection, queues: { emails: 3 as never } })).toThrow(/"queues\.emails"/);
  });

  it('keeps every given value instead of its default', () => {
    const given = {
      prefix: 'app.v2',
      worker: false,
      concurrency: 3,
      leaseMs: 600,
      shutdownTimeoutMs: 0,
      ackBatchMs: 5,
      resultTtlMs: 0,
    };
    expect(resolveConfig({ connection, ...given })).toMatchObject(given);
  });

  it('rejects missing options and connections, naming them', () => {
    expect(rejection(undefined).option).toBe('options');
    expect(rejection({}).option).toBe('connection');
    expect(rejection({ connection: 'redis://x' }).option).toBe('connection');
    expect(rejection({ connection: { url: 6379 } }).option).toBe('connection.url');
  });

  it.each([
    ['prefix', ''],
    ['prefix', 'has space'],
    ['prefix', 'brace{tag}'],
    ['prefix', 'x'.repeat(65)],
    ['prefix', 42],
    ['worker', 'yes'],
    ['concurrency', 0],
    ['concurrency', 10_001],
    ['concurrency', 1.5],
    ['concurrency', '10'],
    ['leaseMs', 99],
    ['heartbeatIntervalMs', 9],
    ['sweepIntervalMs', 9],
    ['maxStallMs', 0],
    ['maxDeliveries', 0],
    ['shutdownTimeoutMs', -1],
    ['resultTtlMs', -1],
    ['resultTtlMs', 1], // under MIN_RESULT_TTL_MS: gone before a waiter reads it
    ['resultTtlMs', 999],
    ['retryAttempts', -1],
    ['retryAttempts', 1_001],
    ['retryAttempts', 1.5],
    ['retryDelay', -1],
    ['retryDelay', 2 ** 31],
    ['offlineTimeoutMs', 99],
    ['offlineTimeoutMs', 2 ** 31],
    ['maxPayloadBytes', 0],
    ['maxPayloadBytes', 512 * 1_048_576 + 1],
    ['deadLetterMaxLen', 0],
    ['blockMs', 0],
    ['blockMs', 60_001],
    ['ackBatchMs', -1],
    ['ackBatchMs', 1_001],
    ['runContext', 'yes'],
    ['leaseMs', Number.NaN],
    // Node timers turn 2^31 ms or more into 1 ms.
    ['leaseMs', 2 ** 31],
    ['sweepIntervalMs', 2 ** 31],
    ['shutdownTimeoutMs', 2 ** 31],
    ['shutdownTimeoutMs', Infinity],
    // The main loop stamps its progress every 100 ms: a shorter stall limit loses the lease.
    ['maxStallMs', 99],
    ['maxStallMs', 499],
  ])('rejects %s = %p with an InvalidOptionError naming the option', (option, value) => {
    const error = rejection({ connection, [option]: value });
    expect(error.option).toBe(option);
    expect(error.code).toBe('INVALID_OPTION');
    expect(error.message).toContain(`"${option}"`);
  });

  it('accepts the longest Node timer (2^31 - 1 ms) and a maxStallMs of 500 ms', () => {
    const longest = 2 ** 31 - 1;
    expect(
      resolveConfig({
        connection,
        leaseMs: longest,
        sweepIntervalMs: longest,
        shutdownTimeoutMs: longest,
        maxStallMs: 500,
      }),
    ).toMatchObject({ leaseMs: longest, sweepIntervalMs: longest, shutdownTimeoutMs: longest, maxStallMs: 500 });
    // Not timers (a Redis expiry, a comparison): larger values are fine.
    expect(resolveConfig({ connection, resultTtlMs: 2 ** 40, maxStallMs: 2 ** 40 })).toMatchObject({
      resultTtlMs: 2 ** 40,
      maxStallMs: 2 ** 40,
    });
  });

  describe('heartbeatIntervalMs against leaseMs', () => {
    it('defaults to a sixth of the lease, never under 20 ms', () => {
      expect(resolveConfig({ connection, leaseMs: 6_000 }).heartbeatIntervalMs).toBe(1_000);
      expect(resolveConfig({ connection, leaseMs: 100 }).heartbeatIntervalMs).toBe(20);
    });

    it('accepts up to a third of the lease and rejects more, naming heartbeatIntervalMs', () => {
      expect(resolveConfig({ connection, leaseMs: 900, heartbeatIntervalMs: 300 }).heartbeatIntervalMs).toBe(300);
      const error = rejection({ connection, leaseMs: 900, heartbeatIntervalMs: 301 });
      expect(error.option).toBe('heartbeatIntervalMs');
      expect(error.message).toMatch(/third of leaseMs \(300\)/);
    });
  });

  // ioredis does not prefix XGROUP/XINFO nor the keys scripts derive: the queue would fail
  // with NOGROUP forever and write results outside the prefix.
  describe('ioredis keyPrefix', () => {
    it.each<[string, unknown, string]>([
      ['in RedisOptions', { host: 'localhost', keyPrefix: 'app:' }, 'connection.keyPrefix'],
      ['in url options', { url: 'redis://localhost', options: { keyPrefix: 'app:' } }, 'connection.options.keyPrefix'],
      ['in the URL query', { url: 'redis://localhost:6379?keyPrefix=app:' }, 'connection.url ?keyPrefix'],
    ])('is refused %s, naming `prefix` as the option to use', (_label, given, option) => {
      const error = rejection({ connection: given });
      expect(error.option).toBe(option);
      expect(error.message).toContain("use the module's `prefix` option instead");
    });

    it('is refused on a reused client, and an unset one is accepted', async () => {
      const prefixed = new Redis({ lazyConnect: true, keyPrefix: 'app:' });
      const plain = new Redis({ lazyConnect: true });
      try {
        const error = rejection({ connection: prefixed });
        expect(error.option).toBe('connection.options.keyPrefix');
        expect(error.message).toContain('`prefix`');
        expect(resolveConfig({ connection: plain }).connection).toBe(plain);
        expect(resolveConfig({ connection: { host: 'h', keyPrefix: '' } }).prefix).toBe('sq');
      } finally {
        prefixed.disconnect();
        plain.disconnect();
      }
    });
  });

  describe('connection.url', () => {
    it.each([
      'redis://localhost',
      'rediss://user:p%23ss%2Fw%3F@cache.internal:6380/3?family=6',
      'redis://:p@ss@127.0.0.1:6379/0',
      'redis://[::1]:6379/',
    ])('accepts %s', (url) => {
      expect(resolveConfig({ connection: { url } }).connection).toEqual({ url });
    });

    // Each of these ioredis (Node's legacy url.parse) reads differently from what it says: a
    // "#" cuts the URL, so ioredis silently connects to localhost:6379 and Node's warning prints
    // the password.
    const secret = 'Pa55-word';
    it.each([
      ['an unencoded "#" in the password', `redis://:${secret}#x@cache:6379`],
      ['an unencoded "#" in a user name', `redis://us#er:${secret}@cache:6379`],
      ['an unencoded "/" in the password', `redis://u:${secret}/x@cache:6379`],
      ['a numeric password with "/"', `redis://u:123${secret.length}/x${secret}@cache`],
      ['a numeric password with "?"', `redis://u:12?${secret}@cache:6379`],
      ['a space', `redis://:${secret} x@cache:6379`],
      ['a backslash', `redis://:${secret}\\x@cache:6379`],
      ['another scheme', `http://:${secret}@cache:6379`],
      ['no scheme', `cache:6379`],
      ['no host', `redis://:${secret}@:6379`],
      ['a port that is not a number', `redis://:${secret}@cache:port`],
      ['a port out of range', `redis://:${secret}@cache:65536`],
      ['a path that is not a database number', `redis://:${secret}@cache:6379/db`],
      ['malformed percent-encoding', `redis://:${secret}%zz@cache:6379`],
      ['a password in the query', `redis://cache:6379#?password=${secret}`],
    ])('refuses %s, naming connection.url, with the password redacted', (_label, url) => {
      const error = rejection({ connection: { url } });
      expect(error.option).toBe('connection.url');
      expect(error.message).toMatch(/expected a redis:\/\/ or rediss:\/\/ URL \(/);
      expect(`${error.message} ${error.stack}`).not.toContain(secret);
      expect(error).not.toHaveProperty('cause');
    });

    it('shows the host of a refused URL, never its credentials or query values', () => {
      expect(rejection({ connection: { url: `redis://u:${secret}#@cache:6379/x?a=${secret}` } }).message).toContain(
        'received "redis://***@cache:6379/x?a=***"',
      );
    });
  });
});
