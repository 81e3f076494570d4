import { FleetReads } from '../../lib/client/fleet-reads';
import { failScript } from '../../lib/scripts/fail.script';
import { ScriptFixture, GROUP, LEASE_MS } from '../scripts/script-fixture';
import { closeAll } from '../utils/helpers';
import { waitingTaskIds } from '../fixtures/flow-state';

/**
 * promote.lua put a due delayed member under flow control (field fl) through admission as it was,
 * however long its id, name or group. Anyone who can ZADD to the delayed set can write one (and a
 * retry carries what the failing worker sent): a member of task 'job' with a group of 1,000
 * characters, due while 'job''s one slot was held, waited in the room under a member longer than
 * the queued listing's room cursor takes (page-options.ts), so the page ending on it gave a cursor
 * the next page refused (InvalidOptionError, `cursor`), and the tasks after it could not be
 * listed. A worker takes no such task (an id over 256 characters or a name over 128 is
 * malformed, a group over 256 is dropped): the promotion dead-letters the member, with the reason,
 * as it does one that does not decode.
 */
describe('attack: a due flow member whose id, name or group is longer than a worker takes', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const limits = { global: 1, group: 0, agingMs: 1000 };
  const long = '€'.repeat(1_000);

  /** The queued listing, one task a page, for at most `pages` pages: the ids listed, or the error. */
  async function listQueued(pages: number): Promise<string[] | unknown> {
    const fleet = new FleetReads(f.redis, () => [f.keys], 60_000);
    const listed: string[] = [];
    let cursor: string | undefined;
    try {
      for (let i = 0; i < pages; i++) {
        const page = await fleet.list('queued', { queue: 'q', limit: 1, cursor });
        listed.push(...page.tasks.map((t) => t.id!.slice(0, 20)));
        if (!page.cursor) return listed;
        cursor = page.cursor;
      }
      return listed;
    } catch (error) {
      return error;
    }
  }

  it.each([
    ['a group of 1,000 characters', { id: 'x', n: 'job', gr: long }],
    ['an id of 1,000 characters', { id: long, n: 'job', gr: 'G' }],
    ['a name of 1,000 characters', { id: 'x', n: long, gr: 'G' }],
    ['a group of 129 characters past U+FFFF (258 UTF-16 code units)', { id: 'x', n: 'job', gr: '😀'.repeat(129) }],
  ])('dead-letters a hand-written member with %s, and the queued pages go on', async (_, task) => {
    await f.enqueueFlow('a', limits);
    await f.deliver('a'); // 'a' holds the one slot: the member would wait in the room
    await f.enqueueFlow('b', limits, 'G');
    const member = JSON.stringify({ ...task, p: '{}', a: '1', fl: '1' });
    await f.redis.zadd(f.keys.delayed, 0, member);

    await f.promote();

    const letters = await f.redis.xrange(f.keys.deadLetter, '-', '+');
    expect({
      delayed: await f.redis.zcard(f.keys.delayed),
      waiting: await waitingTaskIds(f.redis, f.keys),
      stream: await f.redis.xlen(f.keys.stream),
      letters: letters.map(([, fields]) => fields),
    }).toEqual({
      delayed: 0,
      waiting: ['b'],
      stream: 1, // 'a' only
      letters: [['raw', member, 'reason', 'delayed member names a task id, name or group a worker does not take']],
    });
    await f.enqueueFlow('c', limits, 'G');
    expect(await listQueued(5)).toEqual(['b', 'c']);
  });

  it.each([
    ['256 characters of two bytes', 'é'.repeat(256)],
    ['128 characters past U+FFFF (256 UTF-16 code units, as JavaScript counts them)', '😀'.repeat(128)],
  ])('lets a group of %s wait in the room, and the pages go on', async (_, group) => {
    await f.enqueueFlow('a', limits);
    await f.deliver('a');
    await f.redis.zadd(f.keys.delayed, 0, JSON.stringify({ id: 'x', n: 'job', p: '{}', a: '1', fl: '1', gr: group }));
    await f.promote();
    expect(await waitingTaskIds(f.redis, f.keys)).toEqual(['x']);
    expect(await listQueued(5)).toEqual(['x']);
  });

  it('dead-letters the retry of a run whose group is that long (a worker that sent it), at its promotion', async () => {
    await f.enqueueFlow('a', limits);
    const [[entryId]] = await f.deliver('a');
    await f.enqueueFlow('b', limits, 'G'); // waits: the retry would wait behind it
    expect(
      await failScript(f.keys, {
        group: GROUP,
        consumer: 'a',
        stateTtlMs: LEASE_MS,
        entryId,
        retryInMs: 0,
        resultTtlMs: LEASE_MS,
        failure: '{"ok":false}',
        deadLetterReason: 'boom',
        deadLetterMaxLen: 100,
        successor: '',
        task: {
          id: 'a',
          name: 'job',
          payload: '{}',
          attempt: 2,
          generation: 0,
          keepResult: true,
          flow: { group: long },
        },
      }).run(f.redis),
    ).toBe('retry-scheduled');
    // The release admitted 'b': it holds the slot while the retry comes due.
    await f.redis.zadd(f.keys.delayed, 0, (await f.redis.zrange(f.keys.delayed, 0, 0))[0]);

    await f.promote();

    expect({
      delayed: await f.redis.zcard(f.keys.delayed),
      waiting: await waitingTaskIds(f.redis, f.keys),
      reasons: (await f.redis.xrange(f.keys.deadLetter, '-', '+')).map(([, fields]) => fields[3]),
    }).toEqual({
      delayed: 0,
      waiting: [],
      reasons: ['delayed member names a task id, name or group a worker does not take'],
    });
    expect(await listQueued(5)).toEqual(['b']);
  });
});
