import { FleetReads } from '../../lib/client/fleet-reads';
import { redriveScript } from '../../lib/scripts/redrive.script';
import { ScriptFixture } from '../scripts/script-fixture';
import { closeAll } from '../utils/helpers';

/**
 * A queued page that ends in the waiting room returns a cursor: the last member up to its task
 * id, base64url. checkPage took at most 2,000 characters (1,500 bytes), but a member's parts may
 * be longer: a task id of 256 characters (what a worker accepts from another producer) and a
 * group of 256, each up to 3 bytes a character in UTF-8, come to 1,699 bytes with the rank. Such
 * a task (a dead-lettered flow entry of another producer, redriven) ended a page, and the next
 * page was refused with the cursor the page itself gave: InvalidOptionError (`cursor`), and the
 * tasks after it could not be listed.
 */
describe('attack: a room cursor as long as a member can make it', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const limits = { global: 1, group: 0, agingMs: 1000 };

  it('pages on past a waiting task with a 256-character id in a 256-character group', async () => {
    const id = '€'.repeat(256);
    const group = '€'.repeat(256);
    await f.enqueueFlow('a', limits);
    await f.deliver('a'); // 'a' holds the one slot: the others wait
    const deadLetterId = await f.deadLetteredForeignFlowEntry(id, group);
    expect(await redriveScript(f.keys, { deadLetterId, taskId: id, key: undefined }).run(f.redis)).toMatchObject({
      outcome: 'redriven',
      entryId: '', // waits in the room
    });
    await f.enqueueFlow('after', limits, group); // behind it in the same (task, group)
    const fleet = new FleetReads(f.redis, () => [f.keys], 60_000);
    const first = await fleet.list('queued', { queue: 'q', limit: 1 });
    expect(first.tasks.map((t) => t.id)).toEqual([id]);
    expect(first.cursor!.length).toBeGreaterThan(2_000);
    const second = await fleet.list('queued', { queue: 'q', limit: 1, cursor: first.cursor! });
    expect(second.tasks.map((t) => t.id)).toEqual(['after']);
  });
});
