import { InvalidOptionError, type TaskOptions } from '../../lib';
import { checkName, resolveTaskOptions } from '../../lib/task/resolved-task-options';

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
});
