import type { ListedState } from '../../lib';
import { CONSUMER_GROUP } from '../../lib/stream-queue.constants';
import { producerAppForSuite } from '../fixtures/test-app';
import { createRedis, randomPrefix } from '../utils/redis';

/**
 * The listings (list(), findTask(), and through them the dashboard and the CLI) read a task's
 * attempt (a), generation (g) and priority (pr) from its stream entry, delayed member or dead
 * letter, which anyone with Redis access can write, with Number(): `g -1` or `1.5` listed a
 * generation that never existed, `g x` or `inf` generation 0, `a 1e400` no attempt but `a -1`,
 * `1.5` or `0x10` one, `pr 1e300` a priority. They now read as status(key) reads a key state
 * (key-state-numbers.ts): a generation is decimal digits of an integer from 0 to 2^53-1 (none
 * stored: 0), an attempt one from 1 and a priority one from 1 to 10, else undefined. A review
 * finding; the spec failed.
 */
describe('attack: hostile numbers in a listed task', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const t = producerAppForSuite(prefix, redis);

  const HOSTILE = ['x', 'inf', '1e400', '-1', '1.5', '0x10', '1e3', ' 7', '', '18446744073709551616'];

  /** Writes one task of each listing with `value` in its numeric fields; returns its id. */
  async function written(state: ListedState, value: string): Promise<string> {
    const id = `t-${state}-${value}`;
    const fields = ['id', id, 'n', 'echo', 'p', '1', 'a', value, 'k', `k-${id}`, 'g', value, 'fl', '1', 'pr', value];
    const { stream, delayed, deadLetter } = t.keys;
    if (state === 'delayed') {
      const member: Record<string, string> = {};
      for (let i = 0; i < fields.length; i += 2) member[fields[i]] = fields[i + 1];
      await redis.zadd(delayed, Date.now() + 60_000, JSON.stringify(member));
    } else if (state === 'dead') {
      await redis.xadd(deadLetter, '*', ...fields, 'reason', 'hand-written');
    } else {
      await redis.xadd(stream, '*', ...fields);
      if (state === 'running')
        await redis.xreadgroup('GROUP', CONSUMER_GROUP, 'someone', 'COUNT', 1, 'STREAMS', stream, '>');
    }
    return id;
  }

  beforeAll(async () => {
    await redis.xgroup('CREATE', t.keys.stream, CONSUMER_GROUP, '0', 'MKSTREAM').catch(() => undefined);
  });

  it.each(['running', 'queued', 'delayed', 'dead'] as const)(
    'list(%p): a generation, attempt or priority that is not one reads as undefined',
    async (state) => {
      const ids = [];
      for (const value of HOSTILE) ids.push(await written(state, value));
      const { tasks } = await t.client.list(state, { limit: 500 });
      const listed = ids.map((id) => tasks.find((task) => task.id === id));
      expect(listed.map((task) => [task?.generation, task?.attempt, task?.priority])).toEqual(
        HOSTILE.map(() => [undefined, undefined, undefined]),
      );
      const found = await t.client.findTask(ids[3]);
      expect([found.task?.generation, found.task?.attempt, found.task?.priority]).toEqual([
        undefined,
        undefined,
        undefined,
      ]);
    },
  );

  it('numbers that are ones read as numbers; a task without a generation reads 0', async () => {
    const id = await written('queued', '7');
    await t.client.enqueue('echo', 1, { key: 'plain', delayMs: 60_000 });
    const unkeyed = await t.client.enqueue('echo', 2);
    const queued = (await t.client.list('queued', { limit: 500 })).tasks;
    expect(queued.find((task) => task.id === id)).toMatchObject({ generation: 7, attempt: 7, priority: 7 });
    expect(queued.find((task) => task.id === unkeyed.id)).toMatchObject({ generation: 0, attempt: 1 });
    const [delayed] = (await t.client.list('delayed', { limit: 500 })).tasks.filter((task) => task.key === 'plain');
    expect(delayed.generation).toBeGreaterThan(0);
  });
});
