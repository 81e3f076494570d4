import { EXIT } from '../../lib/cli/cli-commands';
import { parseEntry } from '../../lib/task/task-message';
import { cliQueueForSuite } from '../fixtures/cli-queue';

/**
 * A dead letter's key is anyone's text (a hand-written entry, or one a foreign producer's entry
 * left: the dead-letterer copies its fields). A worker takes no key '' nor one over 1024
 * characters (parseEntry: malformed; the dead-letterer then reads it as no key), but the redrive
 * took it as a key (Lua reads '' as true): it drew a generation, wrote a key state 'queued' with
 * no TTL, appended the task and said "Redrove" (exit 0). The task never ran (a worker
 * dead-letters it at once, malformed) and the key state, which nothing ends, stayed for good (a
 * review finding). Refused now as not-a-task, as an id, name or group a worker would not take is.
 */
describe('attack: redrive of a dead letter whose key no worker takes', () => {
  const q = cliQueueForSuite(async () => undefined);

  it.each([
    ["the key ''", ''],
    ['a key of 1,025 characters', 'k'.repeat(1_025)],
  ])('%s: refused, the dead letter kept, nothing written', async (_, key) => {
    const dead = (await q.redis.xadd(q.keys.deadLetter, '*', 'id', 't-1', 'n', 'job', 'p', '1', 'k', key))!;
    const run = await q.cli(['dlq', 'redrive', dead, '--yes', '--json']);
    const stream = await q.redis.xrange(q.keys.stream, '-', '+');
    const outcome = {
      code: run.code,
      json: JSON.parse(run.out),
      deadLetters: await q.redis.xlen(q.keys.deadLetter),
      // What a worker makes of the entry the redrive appended: malformed (a reason), never a run.
      appended: stream.map(([id, raw]) => ('reason' in parseEntry(id, raw, 1 << 20) ? 'malformed' : 'a task')),
      keyState: await q.redis.exists(q.keys.keyState(key)),
      sequence: await q.redis.get(q.keys.seq),
    };
    await q.redis.del(q.keys.deadLetter, q.keys.stream, q.keys.keyState(key), q.keys.seq);
    expect(outcome).toEqual({
      code: EXIT.failed,
      json: [{ deadLetterId: dead, error: 'REDRIVE_REFUSED', message: expect.stringContaining('not a task') }],
      deadLetters: 1,
      appended: [],
      keyState: 0,
      sequence: null,
    });
  });
});
