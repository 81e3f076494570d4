import { DeadLetters } from '../../lib/client/dead-letters';
import { FleetReads } from '../../lib/client/fleet-reads';
import { QueueInspector } from '../../lib/client/queue-inspector';
import { RedriveRefusedError } from '../../lib/errors';
import { ScriptFixture } from '../scripts/script-fixture';
import { closeAll } from '../utils/helpers';
import { waitingTaskIds } from '../fixtures/flow-state';

/**
 * A dead letter's fields are bytes (anyone can XADD one, or a foreign producer's entry fails into
 * one), and a redrive put a flow task's name and group into the waiting room as they were. The
 * queued listing reads the room as UTF-8 text: a byte that is not UTF-8 becomes U+FFFD, so the
 * room cursor of a page ending on such a task (a group of the bytes FF 41) named a member sorting
 * before it, and the next page listed the same task again, with the same cursor: pages of one
 * listed it for ever ('b, x, x, x, x'). The redrive refuses such a task as not-a-task; the dead
 * letter stays for the operator to read or purge.
 */
describe('attack: redriving a flow task whose name or group is not UTF-8', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const limits = { global: 1, group: 0, agingMs: 1000 };

  it.each([
    ['a group (bytes FF 41)', 'job', Buffer.from([0xff, 0x41])],
    ['a group (bytes ED A0 80: a UTF-16 surrogate)', 'job', Buffer.from([0xed, 0xa0, 0x80])],
    ['a name (bytes 6A C3)', Buffer.from([0x6a, 0xc3]), 'G'],
  ])('refuses %s that is not UTF-8, and the queued pages end', async (_, name, group) => {
    await f.enqueueFlow('a', limits);
    await f.deliver('a'); // 'a' holds the one slot: a redriven task would wait in the room
    const fields = ['id', 'x', 'n', name, 'p', '{}', 'a', '3', 'fl', '1', 'gr', group, 'reason', 'boom'];
    const deadLetterId = (await f.redis.xadd(f.keys.deadLetter, '*', ...fields))!;
    const refused = await new DeadLetters(f.redis, new QueueInspector(f.redis), 0)
      .redrive(f.keys, deadLetterId)
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RedriveRefusedError);
    expect((refused as RedriveRefusedError).reason).toBe('not-a-task');
    expect(await f.redis.xlen(f.keys.deadLetter)).toBe(1);
    expect(await waitingTaskIds(f.redis, f.keys)).toEqual([]);
    await f.enqueueFlow('b', limits, 'Z');
    const fleet = new FleetReads(f.redis, () => [f.keys], 60_000);
    const listed: string[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 5; i++) {
      const page = await fleet.list('queued', { queue: 'q', limit: 1, cursor });
      listed.push(...page.tasks.map((t) => t.id!));
      if (!page.cursor) break;
      cursor = page.cursor;
    }
    expect(listed).toEqual(['b']);
  });
});
