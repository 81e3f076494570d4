import { queueStateScript } from '../../lib/scripts/queue-state.script';
import { closeAll } from '../utils/redis';
import { GROUP, ScriptFixture } from './script-fixture';

/**
 * queue-state.lua counts `waiting` on the smaller side of the group's read position, reading at
 * most its limit of entries (3 here): each side it can take, and the upper bound past both.
 */
describe('queue-state.lua: waiting within a bounded count', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const add = async (n: number) => {
    for (let i = 0; i < n; i++) await f.redis.xadd(f.keys.stream, '*', 'n', String(i));
  };
  const read = async (n: number): Promise<string[]> => {
    const reply = (await f.redis.xreadgroup('GROUP', GROUP, 'c', 'COUNT', n, 'STREAMS', f.keys.stream, '>')) as
      [string, [string, string[]][]][] | null;
    return (reply?.[0][1] ?? []).map(([id]) => id);
  };
  const waiting = async (limit = 3) => {
    const { waiting: count, waitingExact: exact } = await queueStateScript(f.keys, { countLimit: limit }).run(f.redis);
    return { count, exact };
  };

  it('counts the unread side when length - pending is within the limit (an unread entry deleted)', async () => {
    await add(1);
    await read(1);
    await add(3);
    const [, second] = (await f.redis.xrange(f.keys.stream, '-', '+')).map(([id]) => id);
    await f.redis.xdel(f.keys.stream, second);
    expect(await waiting()).toEqual({ count: 2, exact: true });
  });

  it('counts the delivered side when the backlog is past the limit', async () => {
    await add(10);
    await read(2);
    expect(await waiting()).toEqual({ count: 8, exact: true });
  });

  it('counts the unread side again when acked entries awaiting their trim fill the delivered side', async () => {
    await add(10);
    const acked = await read(8);
    await f.redis.xack(f.keys.stream, GROUP, ...acked);
    expect(await waiting()).toEqual({ count: 2, exact: true });
  });

  it('past the limit on both sides: length - pending, an upper bound, not exact', async () => {
    await add(10);
    const [acked] = await read(5);
    await f.redis.xack(f.keys.stream, GROUP, acked);
    expect(await waiting()).toEqual({ count: 6, exact: false });
    expect(await waiting(1000)).toEqual({ count: 5, exact: true });
  });
});
