import { QueueInspector } from '../../lib/client/queue-inspector';
import { enterAdmissionScript } from '../../lib/scripts/enter-admission.script';
import { redriveScript } from '../../lib/scripts/redrive.script';
import { closeAll } from '../utils/helpers';
import { GROUP, ScriptFixture } from '../scripts/script-fixture';

/**
 * Attack on 0183145 (a waiting task's fields in its room member, its wait in flow:tasks), by a
 * review: a NUL where the member's parts meet. A foreign producer's task id may hold one (the
 * parser checks only its length), and a redriven dead letter keeps the group it was written with.
 * Admission cut the id at the first NUL after it and dropped the task unrun; the listing cut the
 * member at its fourth NUL and lost the id; a dropped member left its wait behind, so a later
 * entry of that id was answered "waits" and vanished. Each case failed on 0183145.
 */
describe('attack: a NUL inside a waiting room member', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const limits = { global: 1, group: 0, agingMs: 1000 };
  const complete = (entryId: string, id: string) => f.complete('a', [{ entryId, id, result: '', flow: true }]);

  // parseMessage accepts any id up to 256 characters, so a plain entry written by another
  // producer with a NUL in its id is moved into admission (intake.ts -> enter-admission.lua).
  it('a waiting task whose id holds a NUL is admitted when the slot frees (not dropped)', async () => {
    const a = await f.enqueueFlow('a', limits);
    const id = 'p\0x';
    const plain = await f.redis.xadd(f.keys.stream, '*', 'id', id, 'n', 'job', 'p', '{}', 'a', '1');
    await f.deliver('a');
    const moved = await enterAdmissionScript(f.keys, {
      group: GROUP,
      consumer: 'a',
      entryId: plain!,
      taskId: id,
      limits,
    }).run(f.redis);
    expect(moved).toEqual({ outcome: 'moved', entryId: '' }); // a holds the slot: it waits
    expect(await complete(a.entryId!, 'a')).toEqual(['completed']);
    // The release admits it: its entry is in the stream, and its hold names that entry.
    const entries = await f.redis.xrange(f.keys.stream, '-', '+');
    expect(entries.map(([, fields]) => fields[fields.indexOf('id') + 1])).toEqual([id]);
    expect((await f.redis.hget(f.keys.flow.tasks, id))?.startsWith(entries[0][0] + '\0')).toBe(true);
  });

  // A dead letter keeps the fields as written (gr included); redrive.lua re-enters it with them.
  it('a task waiting in a group whose name holds a NUL is listed with its id', async () => {
    await f.enqueueFlow('a', limits);
    await f.deliver('a');
    const deadLetterId = await f.deadLetteredForeignFlowEntry('h', 'x\0y');
    expect(await redriveScript(f.keys, { deadLetterId, taskId: 'h', key: undefined }).run(f.redis)).toMatchObject({
      outcome: 'redriven',
      entryId: '', // a holds the slot: it waits in the room
    });
    const page = await new QueueInspector(f.redis).queued(f.keys, { limit: 50 });
    expect(page.tasks.map((t) => t.id)).toContain('h'); // what remove('h') pages through
  });

  // admitMember drops a member whose fields must be decoded (a rated task's, to add field rl)
  // and do not; its wait must go with it, or the id is "waiting" with no member: a later entry
  // of that id (a plain copy moved in, a redrive) is answered "waits" and vanishes.
  it('a dropped member leaves no wait behind, so its id can enter again', async () => {
    const rated = { ...limits, rate: { max: 100, perMs: 1000 } };
    await f.enqueueFlow('a', rated);
    await f.enqueueFlow('b', rated);
    await f.garbleWaitingMember('b');
    const [[entryA]] = await f.deliver('a');
    expect(await complete(entryA, 'a')).toEqual(['completed']);
    expect(await f.redis.zcard(f.keys.flow.room)).toBe(0); // dropped
    expect(await f.redis.hget(f.keys.flow.tasks, 'b')).toBeNull(); // no wait left behind
  });

  // Without rates a settle admits a member without decoding it (a packed entry): one that does
  // not decode holds its slot until its reader dead-letters it, which releases it by the flat
  // task id, so the id can enter again.
  it('an undecodable member admitted packed leaves nothing held once dead-lettered', async () => {
    await f.enqueueFlow('a', limits);
    await f.enqueueFlow('b', limits);
    await f.garbleWaitingMember('b');
    const [[entryA]] = await f.deliver('a');
    expect(await complete(entryA, 'a')).toEqual(['completed']);
    const [[entryB]] = await f.deliver('a');
    expect(await f.deadLetter('a', entryB, 'malformed', { id: 'b' })).toBe('dead-lettered');
    expect(await f.redis.hget(f.keys.flow.tasks, 'b')).toBeNull();
    expect(await f.enqueueFlow('b', limits)).toMatchObject({ entryId: expect.any(String) }); // admitted again
  });
});
