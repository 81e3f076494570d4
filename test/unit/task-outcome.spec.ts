import {
  describeThrown,
  encodeFailure,
  encodeResult,
  FAILURE_MESSAGE_MAX,
  type StoredResult,
} from '../../lib/task/task-outcome';

describe('task outcomes', () => {
  it('describes an Error by its name and message', () => {
    expect(describeThrown(new TypeError('bad'))).toEqual({ name: 'TypeError', message: 'bad' });
  });

  it.each([
    ['a string', 'boom', 'boom'],
    ['null', null, 'null'],
    ['undefined', undefined, 'undefined'],
    ['a number', 42, '42'],
    ['an object', { code: 7 }, '{"code":7}'],
  ])('describes a thrown non-Error (%s) as NonError with a message', (_what, thrown, message) => {
    expect(describeThrown(thrown)).toEqual({ name: 'NonError', message });
  });

  it('describes a thrown value that JSON cannot encode', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(describeThrown(circular)).toEqual({ name: 'NonError', message: '[object Object]' });
    expect(describeThrown(5n)).toEqual({ name: 'NonError', message: '5' });
  });

  // The stored failure is cut to a bounded length (storedFailure): a name or message that is no
  // string had no length to cut, and the settle of its run threw. Both failed before the fix.
  it('describes an Error whose name or message is no string with strings', () => {
    const error = Object.assign(new Error('bad'), { name: 5 });
    Object.defineProperty(error, 'message', { value: { code: 7 } });
    expect(describeThrown(error)).toEqual({ name: '5', message: '[object Object]' });
  });

  it('describes an Error whose name or message getter throws', () => {
    const error = new Error('bad');
    Object.defineProperty(error, 'message', {
      get() {
        throw new Error('no message');
      },
    });
    expect(describeThrown(error)).toEqual({ name: 'Error', message: '' });
  });

  it('encodes results and failures as the stored shape', () => {
    expect(JSON.parse((encodeResult({ a: 1 }) as { stored: string }).stored) as StoredResult).toEqual({
      ok: true,
      value: { a: 1 },
    });
    expect(encodeResult(undefined)).toEqual({ stored: '' }); // nothing stored: a drained no-op task leaves no key
    expect(JSON.parse(encodeFailure({ name: 'E', message: 'm' })) as StoredResult).toEqual({
      ok: false,
      error: { name: 'E', message: 'm' },
    });
  });

  // A result whose toJSON throws a message of megabytes was stored whole as the ResultError's
  // message: a failure as any other, cut past FAILURE_MESSAGE_MAX. It failed before the fix.
  it('makes the ResultError of a result whose toJSON throws a huge message cut', () => {
    const huge = 'm'.repeat(1_000_000);
    const { error } = encodeResult({
      toJSON() {
        throw new Error(huge);
      },
    }) as { error: { name: string; message: string } };
    const marker = `… [cut: ${'result not serialisable: '.length + huge.length} characters]`;
    expect([error.name, error.message.length, error.message.endsWith(marker)]).toEqual([
      'ResultError',
      FAILURE_MESSAGE_MAX + marker.length,
      true,
    ]);
  });

  // The run then fails with it (task-runner.ts): see test/attack/unserialisable-result-status.spec.ts.
  it('turns a result JSON cannot encode into a ResultError instead of throwing', () => {
    expect(encodeResult(1n)).toMatchObject({ error: { name: 'ResultError' } });
  });
});
