import { DeadLetters } from '../../lib/client/dead-letters';
import { QueueInspector } from '../../lib/client/queue-inspector';
import { RedriveRefusedError } from '../../lib/errors';
import { redriveScript } from '../../lib/scripts/redrive.script';
import { ScriptFixture } from '../scripts/script-fixture';
import { closeAll } from '../utils/helpers';
import { waitingTaskIds } from '../fixtures/flow-state';

/**
 * The bounds of a dead letter's id, name and group were checked only in TypeScript, before
 * redrive.lua was called (dead-letters.ts); the script put what the dead letter held through
 * admission as it was. redrive.lua is an entrance of the waiting room like promote.lua and
 * enter-admission.lua: it now refuses, with the same shared check (includes/task-text.lua), what a
 * worker would not take, and writes nothing; dead-letters.ts keeps no copy of the bounds.
 */
describe('attack: redrive.lua itself refuses an id, name or group longer than a worker takes', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const limits = { global: 1, group: 0, agingMs: 1000 };
  const long = '€'.repeat(257);

  it.each([
    ['a group of 257 characters', { id: 'x', n: 'job', gr: long }],
    ['an id of 257 characters', { id: long, n: 'job', gr: 'G' }],
    ['a name of 129 characters', { id: 'x', n: 'j'.repeat(129), gr: 'G' }],
  ])('a flow task with %s: not-a-task, nothing written', async (_, task) => {
    await f.enqueueFlow('a', limits);
    await f.deliver('a'); // 'a' holds the one slot: a redriven task would wait in the room
    const fields = ['id', task.id, 'n', task.n, 'p', '{}', 'a', '3', 'fl', '1', 'gr', task.gr, 'reason', 'boom'];
    const deadLetterId = (await f.redis.xadd(f.keys.deadLetter, '*', ...fields))!;

    const reply = await redriveScript(f.keys, { deadLetterId, taskId: task.id, key: undefined }).run(f.redis);

    expect({
      outcome: reply.outcome,
      letters: await f.redis.xlen(f.keys.deadLetter),
      waiting: await waitingTaskIds(f.redis, f.keys),
      stream: await f.redis.xlen(f.keys.stream),
      result: await f.redis.exists(f.keys.result(task.id)),
    }).toEqual({ outcome: 'not-a-task', letters: 1, waiting: [], stream: 1, result: 0 });
  });

  it('a plain task with an id of 257 characters: not-a-task through the client, from the script', async () => {
    const deadLetterId = (await f.redis.xadd(f.keys.deadLetter, '*', 'id', long, 'n', 'job', 'p', '{}', 'a', '3'))!;
    expect((await redriveScript(f.keys, { deadLetterId, taskId: long, key: undefined }).run(f.redis)).outcome).toBe(
      'not-a-task',
    );
    const refused = await new DeadLetters(f.redis, new QueueInspector(f.redis), 0)
      .redrive(f.keys, deadLetterId)
      .catch((e: unknown) => e);
    expect((refused as RedriveRefusedError).reason).toBe('not-a-task');
    expect(await f.redis.xlen(f.keys.stream)).toBe(0);
  });

  it('a flow task at the bounds is redriven (it waits for the slot)', async () => {
    await f.enqueueFlow('a', limits);
    await f.deliver('a');
    const id = '😀'.repeat(128);
    const fields = ['id', id, 'n', 'job', 'p', '{}', 'a', '3', 'fl', '1', 'gr', 'é'.repeat(256)];
    const deadLetterId = (await f.redis.xadd(f.keys.deadLetter, '*', ...fields))!;
    expect(await redriveScript(f.keys, { deadLetterId, taskId: id, key: undefined }).run(f.redis)).toMatchObject({
      outcome: 'redriven',
      entryId: '',
    });
    expect(await waitingTaskIds(f.redis, f.keys)).toEqual([id]);
  });
});
