import {
  isMalformed,
  MAX_TRACE_LENGTH,
  parseEntry,
  type MalformedMessage,
  type TaskMessage,
} from '../../lib/task/task-message';

const ok = ['id', 't1', 'n', 'send', 'p', '{"a":1}'];

function reasonOf(fields: string[] | null): string {
  const parsed = parseEntry('1-0', fields);
  expect(isMalformed(parsed)).toBe(true);
  return (parsed as MalformedMessage).reason;
}

function messageOf(fields: string[]): TaskMessage {
  const parsed = parseEntry('1-0', fields);
  if (isMalformed(parsed)) throw new Error(`unexpectedly malformed: ${parsed.reason}`);
  return parsed;
}

describe('parseEntry', () => {
  it('accepts the bounds themselves: attempt 1000, a due time in 9999, 64 pairs', () => {
    const padding = Array.from({ length: 64 * 2 - ok.length - 4 }, (_, i) => `x${i}`);
    expect(messageOf([...ok, 'a', '1000', 'd', '253402300799999', ...padding])).toMatchObject({
      attempt: 1_000,
      dueAt: 253_402_300_799_999,
    });
  });

  it('reads a well-formed unkeyed entry with defaults: attempt 1, generation 0', () => {
    expect(messageOf(ok)).toEqual({
      entryId: '1-0',
      id: 't1',
      name: 'send',
      payload: '{"a":1}',
      attempt: 1,
      key: undefined,
      generation: 0,
      keepResult: false,
      trace: undefined,
    });
  });

  it('reads field t (trace context) and drops an empty or oversized one without rejecting the task', () => {
    const carrier = '{"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}';
    expect(messageOf([...ok, 't', carrier]).trace).toBe(carrier);
    expect(messageOf([...ok, 't', '']).trace).toBeUndefined();
    expect(messageOf([...ok, 't', 'x'.repeat(MAX_TRACE_LENGTH)]).trace).toHaveLength(MAX_TRACE_LENGTH);
    expect(messageOf([...ok, 't', 'x'.repeat(MAX_TRACE_LENGTH + 1)]).trace).toBeUndefined();
    // The first value of a repeated field counts, as for every field.
    expect(messageOf([...ok, 't', 'a', 't', 'b']).trace).toBe('a');
  });

  it('reads field r: the result is kept even when the handler returns nothing', () => {
    expect(messageOf([...ok, 'r', '1'])).toMatchObject({ keepResult: true });
  });

  it('reads attempt, key and generation of a keyed entry', () => {
    expect(messageOf([...ok, 'a', '3', 'k', 'user:1', 'g', '7'])).toMatchObject({
      attempt: 3,
      key: 'user:1',
      generation: 7,
    });
  });

  it('treats an unkeyed entry as generation 0 whatever its "g" says, so it is never stale', () => {
    expect(messageOf([...ok, 'g', '9']).generation).toBe(0);
  });

  it('takes the first of repeated fields and ignores unknown ones and a dangling name', () => {
    expect(messageOf([...ok, 'n', 'other', 'x', 'y', 'dangling'])).toMatchObject({ name: 'send' });
  });

  it.each([
    ['no fields at all (deleted while pending)', null, /no fields/],
    ['missing id', ['n', 'send', 'p', '1'], /missing field "id"/],
    ['empty id', ['id', '', 'n', 'send', 'p', '1'], /missing field "id"/],
    ['missing name', ['id', 't', 'p', '1'], /missing field "n"/],
    ['missing payload', ['id', 't', 'n', 'send'], /missing field "p"/],
    ['attempt 0', [...ok, 'a', '0'], /field "a"/],
    ['attempt not a number', [...ok, 'a', 'two'], /field "a"/],
    ['attempt fractional', [...ok, 'a', '1.5'], /field "a"/],
    ['empty key', [...ok, 'k', ''], /field "k"/],
    ['key too long', [...ok, 'k', 'x'.repeat(1_025)], /field "k"/],
    ['negative generation', [...ok, 'k', 'u', 'g', '-1'], /field "g"/],
    ['generation not a number', [...ok, 'k', 'u', 'g', 'new'], /field "g"/],
    ['due time not an integer', [...ok, 'd', 'soon'], /field "d"/],
    // Issue 15 item 10: past the largest JavaScript date, computing a cron successor throws.
    ['due time past the year 9999', [...ok, 'd', '9000000000000000'], /field "d" \(due time\)/],
    ['negative due time', [...ok, 'd', '-1'], /field "d"/],
    ['attempt beyond any maxAttempts', [...ok, 'a', '1001'], /field "a"/],
    ['id longer than 256 characters', ['id', 'i'.repeat(257), 'n', 'send', 'p', '1'], /field "id"/],
    ['name longer than 128 characters', ['id', 't', 'n', 'n'.repeat(129), 'p', '1'], /field "n"/],
    // Lua's unpack() fails on thousands of fields: a crowd of them is malformed, not a task.
    ['more than 64 name/value pairs', [...ok, ...Array.from({ length: 130 }, (_, i) => `x${i}`)], /64 name\/value/],
  ])('gives a reason for %s', (_case, fields, reason) => {
    expect(reasonOf(fields as string[] | null)).toMatch(reason);
  });
});
