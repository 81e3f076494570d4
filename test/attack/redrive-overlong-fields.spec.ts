import { DeadLetters } from '../../lib/client/dead-letters';
import { FleetReads } from '../../lib/client/fleet-reads';
import { QueueInspector } from '../../lib/client/queue-inspector';
import { RedriveRefusedError } from '../../lib/errors';
import { ScriptFixture } from '../scripts/script-fixture';
import { closeAll } from '../utils/helpers';
import { waitingTaskIds } from '../fixtures/flow-state';

/**
 * A redrive put a dead letter's id, name and group through admission as they were, however long.
 * A hand-written dead letter (anyone can XADD one) of a flow task in a group of 1,000 characters
 * entered the waiting room with a member longer than the queued listing's room cursor takes
 * (page-options.ts): a page ending on it gave a cursor the next page refused (InvalidOptionError,
 * `cursor`), and the tasks after it could no longer be listed. A worker takes no such task (an id
 * over 256 characters or a name over 128 is malformed, a group over 256 is dropped): the redrive
 * refuses it as not-a-task, and the dead letter stays for the operator to read or purge.
 */
describe('attack: redriving a dead letter whose id, name or group is longer than a worker takes', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const limits = { global: 1, group: 0, agingMs: 1000 };

  it.each([
    ['a group of 1,000 characters', { id: 'long-group', name: 'job', group: '€'.repeat(1_000) }],
    ['an id of 1,000 characters', { id: '€'.repeat(1_000), name: 'job', group: 'G' }],
    ['a name of 1,000 characters', { id: 'long-name', name: '€'.repeat(1_000), group: 'G' }],
  ])('refuses %s, keeps the dead letter, and the queued pages go on', async (_, task) => {
    await f.enqueueFlow('a', limits);
    await f.deliver('a'); // 'a' holds the one slot: a redriven task would wait in the room
    const fields = ['id', task.id, 'n', task.name, 'p', '{}', 'a', '3', 'fl', '1', 'gr', task.group, 'reason', 'boom'];
    const deadLetterId = (await f.redis.xadd(f.keys.deadLetter, '*', ...fields))!;
    const deadLetters = new DeadLetters(f.redis, new QueueInspector(f.redis), 0);
    const refused = await deadLetters.redrive(f.keys, deadLetterId).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RedriveRefusedError);
    expect((refused as RedriveRefusedError).reason).toBe('not-a-task');
    expect(await f.redis.xlen(f.keys.deadLetter)).toBe(1);
    expect(await waitingTaskIds(f.redis, f.keys)).toEqual([]);
    // redriveAll lists it with the same reason.
    expect(await deadLetters.redriveAll([f.keys])).toEqual({
      redriven: 0,
      refused: [{ deadLetterId, reason: 'not-a-task' }],
    });
    // The listing pages past whatever waits, one task a page.
    await f.enqueueFlow('b', limits, 'G');
    await f.enqueueFlow('c', limits, 'G');
    const fleet = new FleetReads(f.redis, () => [f.keys], 60_000);
    const first = await fleet.list('queued', { queue: 'q', limit: 1 });
    const second = await fleet.list('queued', { queue: 'q', limit: 1, cursor: first.cursor! });
    expect([...first.tasks, ...second.tasks].map((t) => t.id)).toEqual(['b', 'c']);
  });
});
