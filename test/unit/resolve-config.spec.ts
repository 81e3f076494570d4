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
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('keeps given values', () => {
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
    ['maxPayloadBytes', 0],
    ['maxPayloadBytes', 512 * 1_048_576 + 1],
    ['deadLetterMaxLen', 0],
    ['blockMs', 0],
    ['blockMs', 60_001],
    ['ackBatchMs', -1],
    ['ackBatchMs', 1_001],
    ['leaseMs', Number.NaN],
  ])('rejects %s = %p with an InvalidOptionError naming the option', (option, value) => {
    const error = rejection({ connection, [option]: value });
    expect(error.option).toBe(option);
    expect(error.code).toBe('INVALID_OPTION');
    expect(error.message).toContain(`"${option}"`);
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
});
