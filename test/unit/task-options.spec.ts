import { InvalidOptionError, type TaskOptions } from '../../lib';
import { checkName, resolveTaskOptions } from '../../lib/task/resolved-task-options';
import { flowLimitsOf, partitionShare } from '../../lib/task/flow-limits';

function optionRejected(raw: unknown): string {
  try {
    resolveTaskOptions('send', raw as TaskOptions, 1_000);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionError);
    return (error as InvalidOptionError).option;
  }
  throw new Error(`resolveTaskOptions accepted ${JSON.stringify(raw)}`);
}

describe('resolveTaskOptions', () => {
  it('applies the task defaults, taking resultTtlMs from the module', () => {
    expect(resolveTaskOptions('send', {}, 1_234)).toEqual({
      queue: 'default',
      maxAttempts: 3,
      backoff: { type: 'exponential', jitter: true, delayMs: 1_000, maxDelayMs: 60_000 },
      timeoutMs: undefined,
      resultTtlMs: 1_234,
    });
  });

  it('keeps given values; a partial backoff is completed with defaults', () => {
    const resolved = resolveTaskOptions(
      'send',
      { queue: 'mail:eu', maxAttempts: 1, timeoutMs: 5, resultTtlMs: 0, backoff: { type: 'fixed' } },
      1_000,
    );
    expect(resolved).toEqual({
      queue: 'mail:eu',
      maxAttempts: 1,
      backoff: { type: 'fixed', jitter: true, delayMs: 1_000, maxDelayMs: 60_000 },
      timeoutMs: 5,
      resultTtlMs: 0,
    });
  });

  it.each([
    [{ queue: 'a{b}' }, "@Task('send').queue"],
    [{ queue: '' }, "@Task('send').queue"],
    [{ maxAttempts: 0 }, "@Task('send').maxAttempts"],
    [{ maxAttempts: 1_001 }, "@Task('send').maxAttempts"],
    [{ timeoutMs: 0 }, "@Task('send').timeoutMs"],
    [{ timeoutMs: 1.5 }, "@Task('send').timeoutMs"],
    [{ timeoutMs: 2 ** 31 }, "@Task('send').timeoutMs"], // a Node timer would fire after 1 ms
    [{ timeoutMs: Infinity }, "@Task('send').timeoutMs"],
    [{ resultTtlMs: -1 }, "@Task('send').resultTtlMs"],
    [{ resultTtlMs: 5 }, "@Task('send').resultTtlMs"], // under MIN_RESULT_TTL_MS
    [{ backoff: { type: 'linear' } }, "@Task('send').backoff.type"],
    [{ backoff: { jitter: 'no' } }, "@Task('send').backoff.jitter"],
    [{ backoff: { delayMs: -1 } }, "@Task('send').backoff.delayMs"],
    [{ backoff: { maxDelayMs: 0.5 } }, "@Task('send').backoff.maxDelayMs"],
  ])('rejects %p, naming %s', (raw, option) => {
    expect(optionRejected(raw)).toBe(option);
  });

  it('accepts a timeoutMs up to the longest Node timer, 2^31 - 1 ms', () => {
    expect(resolveTaskOptions('send', { timeoutMs: 2 ** 31 - 1 }, 1_000).timeoutMs).toBe(2 ** 31 - 1);
  });

  it('checkName accepts queue-safe names and rejects braces, spaces and non-strings', () => {
    expect(checkName('name', 'mail.send:v2-x_y')).toBe('mail.send:v2-x_y');
    for (const bad of ['a}', 'a b', '', 'x'.repeat(129), 7]) {
      expect(() => checkName('name', bad)).toThrow(InvalidOptionError);
    }
  });

  describe('global limits on a partitioned queue (a share per partition)', () => {
    const onParts = (raw: TaskOptions, partitions: number) =>
      resolveTaskOptions('send', raw, 1_000, (queue) => (queue === 'parts' ? partitions : 1));
    const refusal = (raw: TaskOptions, partitions: number) => {
      try {
        onParts(raw, partitions);
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidOptionError);
        return error as InvalidOptionError;
      }
      throw new Error(`accepted ${JSON.stringify(raw)} over ${partitions} partitions`);
    };

    it.each([
      [{ queue: 'parts', globalConcurrency: 2 }, 3, "@Task('send').globalConcurrency"],
      [{ queue: 'parts', rateLimit: { max: 1, perMs: 1_000 } }, 2, "@Task('send').rateLimit.max"],
      [
        { queue: 'parts', groupConcurrency: 1, globalConcurrency: 3, rateLimit: { max: 3, perMs: 9 } },
        4,
        "@Task('send').globalConcurrency",
      ],
    ])('%p over %i partitions: a partition would get 0, refused naming %s', (raw, partitions, option) => {
      const error = refusal(raw as TaskOptions, partitions);
      expect(error.option).toBe(option);
      expect(error.message).toMatch(new RegExp(`at least queues\\.parts\\.partitions \\(${partitions}\\)`));
    });

    it('a limit of at least the partition count is accepted, and kept whole', () => {
      const resolved = onParts({ queue: 'parts', globalConcurrency: 3, rateLimit: { max: 2, perMs: 50 } }, 2);
      expect(resolved).toMatchObject({ globalConcurrency: 3, rateLimit: { max: 2, perMs: 50 } });
      // The group limits are per group, whatever the count; another queue is not partitioned.
      expect(onParts({ queue: 'parts', groupConcurrency: 1 }, 8).groupConcurrency).toBe(1);
      expect(onParts({ queue: 'other', globalConcurrency: 1 }, 8).globalConcurrency).toBe(1);
    });

    it('partitionShare: floor(N/P), one more for the first N mod P partitions; the shares sum to N', () => {
      expect([0, 1, 2].map((p) => partitionShare(5, p, 3))).toEqual([2, 2, 1]);
      expect([0, 1, 2].map((p) => partitionShare(7, p, 3))).toEqual([3, 2, 2]);
      expect([0, 1].map((p) => partitionShare(3, p, 2))).toEqual([2, 1]);
      expect(partitionShare(3, 0, 1)).toBe(3);
      for (const [n, count] of [
        [10, 3],
        [1_000_000, 1024],
        [5, 5],
        [6, 4],
      ]) {
        const shares = Array.from({ length: count }, (_, p) => partitionShare(n, p, count));
        expect(shares.reduce((a, b) => a + b)).toBe(n);
        expect(Math.min(...shares)).toBeGreaterThanOrEqual(1);
      }
    });

    it("flowLimitsOf gives a partition its share of the task's own limits, the group limits whole", () => {
      const options = onParts(
        {
          queue: 'parts',
          globalConcurrency: 5,
          groupConcurrency: 2,
          rateLimit: { max: 7, perMs: 100 },
          groupRateLimit: { max: 3, perMs: 10 },
        },
        3,
      );
      expect(flowLimitsOf(options, 500, 2, 3)).toEqual({
        global: 1,
        group: 2,
        agingMs: 500,
        rate: { max: 2, perMs: 100 },
        groupRate: { max: 3, perMs: 10 },
      });
      expect(flowLimitsOf(options, 500, 0, 3)).toMatchObject({ global: 2, rate: { max: 3, perMs: 100 } });
      expect(flowLimitsOf(options, 500, 0, 1)).toMatchObject({ global: 5, rate: { max: 7, perMs: 100 } });
      expect(flowLimitsOf(onParts({ queue: 'parts', groupConcurrency: 1 }, 3), 500, 1, 3)).toEqual({
        global: 0,
        group: 1,
        agingMs: 500,
      });
    });
  });
});
