import { FleetReads } from '../../lib/client/fleet-reads';
import { cliQueueForSuite } from '../fixtures/cli-queue';

const member = (id: string) => JSON.stringify({ id, n: 'echo', p: '1', a: '1' });

/**
 * The delayed listing's cursor is the last due time listed and how many at it were listed,
 * `<ms>:<n>`, and the next page refused one whose due time is not 1 to 16 digits. Anyone can
 * ZADD a member at a score no enqueue writes (1000.5, 1e+17, inf): a page ending on one gave a
 * cursor ('1000.5:1', '1e+17:1', 'NaN:0': Number('inf') is NaN) that the next page refused with
 * INVALID_OPTION `cursor`, so the tasks after it could not be listed, and remove() and findTask(),
 * which page the listing the same way, failed for every task past it (the CLI's `remove` even
 * exited 2, "bad command line") (a review finding). The cursor now carries the score as Redis
 * prints it.
 */
describe('attack: delayed members at scores no enqueue writes', () => {
  const q = cliQueueForSuite(async () => undefined);
  const reads = () => new FleetReads(q.redis, () => [q.keys], 60_000);
  afterEach(() => q.redis.del(q.keys.delayed));

  it.each([
    ['a fractional due time', '1000.5'],
    ['a due time of 17 digits', '1e17'],
    ['a due time of inf', 'inf'],
  ])('%s: the pages list every member once, through it', async (_, score) => {
    await q.redis.zadd(q.keys.delayed, 1000, member('a'), score, member('b'), score, member('c'));
    await q.redis.zadd(q.keys.delayed, 'inf', member('z'));
    const listed: string[] = [];
    const errors: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      try {
        const got = await reads().list('delayed', { limit: 2, cursor });
        listed.push(...got.tasks.map((t) => t.id!));
        if (!got.cursor) break;
        cursor = got.cursor;
      } catch (error) {
        errors.push((error as Error).message);
        break;
      }
    }
    expect({ listed, errors }).toEqual({ listed: ['a', 'b', 'c', 'z'], errors: [] });
  });

  it('remove() finds a task past a page ending on such a member', async () => {
    const many: (string | number)[] = [];
    for (let i = 0; i < 499; i++) many.push(1_000_000 + i, member(`m${i}`));
    await q.redis.zadd(q.keys.delayed, ...many, 2_000_000.5, member('odd'), 3_000_000, member('target'));
    const removed = await reads()
      .remove('target')
      .then(
        () => 'removed',
        (error: Error) => error.message,
      );
    expect({ removed, left: await q.redis.zscore(q.keys.delayed, member('target')) }).toEqual({
      removed: 'removed',
      left: null,
    });
  });

  // The listing began at 0: a member at a negative score (due before 1970: anyone can ZADD one)
  // was counted in `delayed` but never listed, and remove() answered TASK_NOT_FOUND for it while
  // no worker had promoted it yet (a review finding).
  it.each(['-5', '-inf'])('a member at %s: listed first, and remove() finds it', async (score) => {
    await q.redis.zadd(q.keys.delayed, score, member('early'), 1000, member('a'), 1000, member('b'));
    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const got = await reads().list('delayed', { limit: 1, cursor });
      pages.push(got.tasks.map((t) => t.id!));
      cursor = got.cursor ?? undefined;
    } while (cursor && pages.length < 10);
    const removed = await reads()
      .remove('early')
      .then(
        () => 'removed',
        (error: Error) => error.message,
      );
    expect({ pages, removed }).toEqual({ pages: [['early'], ['a'], ['b'], []], removed: 'removed' });
  });
});
