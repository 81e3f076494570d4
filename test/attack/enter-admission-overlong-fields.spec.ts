import { enterAdmissionScript } from '../../lib/scripts/enter-admission.script';
import { ScriptFixture, GROUP } from '../scripts/script-fixture';
import { closeAll } from '../utils/helpers';
import { waitingTaskIds } from '../fixtures/flow-state';

/**
 * enter-admission.lua moves a plain entry of a limited task into admission, reading the entry's
 * own fields; its worker checked them (parseEntry) before calling it, the script did not. Called
 * for an entry of task 'job' whose id is 1,000 characters (anyone can XADD one; a worker of
 * another version, or one that reads the fields differently, may ask), it put the task in the
 * waiting room under a member the queued listing cannot page over. The script now refuses it with
 * the check every room entrance shares (includes/task-text.lua): -1, nothing written, the entry
 * still its reader's (which dead-letters it as malformed).
 */
describe('attack: enter-admission.lua for an entry whose id or name is longer than a worker takes', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const limits = { global: 1, group: 0, agingMs: 1000 };

  it.each([
    ['an id of 1,000 characters', '€'.repeat(1_000), 'job'],
    ['an id of 257 characters', 'x'.repeat(257), 'job'],
    ['an id that is not UTF-8 text (bytes 78 FF)', Buffer.from([0x78, 0xff]), 'job'],
    ['a name of 129 characters', 'x', 'j'.repeat(129)],
  ])('refuses %s: -1, nothing written', async (_, id, name) => {
    await f.enqueueFlow('a', limits);
    await f.deliver('a'); // 'a' holds job's one slot: a moved task would wait in the room
    const entryId = (await f.redis.xadd(f.keys.stream, '*', 'id', id, 'n', name, 'p', '{}', 'a', '1'))!;
    await f.deliver('b');

    const reply = await enterAdmissionScript(f.keys, {
      group: GROUP,
      consumer: 'b',
      entryId,
      // The id as the entry holds it: bytes that are not UTF-8 go as the bytes.
      taskId: id as string,
      limits,
    }).run(f.redis);

    expect({
      outcome: reply.outcome,
      waiting: await waitingTaskIds(f.redis, f.keys),
      pending: await f.pendingOwner(entryId),
    }).toEqual({ outcome: 'not-to-move', waiting: [], pending: 'b' });
  });

  it('moves one at the bounds (an id of 256 characters)', async () => {
    await f.enqueueFlow('a', limits);
    await f.deliver('a');
    const id = '😀'.repeat(128);
    const entryId = (await f.redis.xadd(f.keys.stream, '*', 'id', id, 'n', 'job', 'p', '{}', 'a', '1'))!;
    await f.deliver('b');
    const reply = await enterAdmissionScript(f.keys, { group: GROUP, consumer: 'b', entryId, taskId: id, limits }).run(
      f.redis,
    );
    expect(reply).toEqual({ outcome: 'moved', entryId: '' });
    expect(await waitingTaskIds(f.redis, f.keys)).toEqual([id]);
  });
});
