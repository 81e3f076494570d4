import { closeAll } from '../utils/redis';
import { ScriptFixture } from '../scripts/script-fixture';
import { useCountingScripts } from '../fixtures/counting-scripts';
import { QueueKeys } from '../../lib/redis/keys';
import { completeScript } from '../../lib/scripts/complete.script';
import { CONSUMER_GROUP } from '../../lib/stream-queue.constants';
import { periodicRunRead, plainEntryRead, refusalOf, settleWrites as written } from '../fixtures/settle-writes';

/**
 * Attack on complete.lua refused midway. A periodic run's completion stored its result and ended
 * its key state (state completed, the successor's generation drawn into the state) before its
 * successor's ZADD into the delayed set. Redis does not roll a script back, so a delayed set of
 * another type (anyone with Redis access can SET one) failed the settle after those writes: the
 * run stayed pending, its worker's retried settle found it stale (its generation names no run
 * any more) and the chain ended without a successor. Now complete.lua reads the delayed set's
 * type before its first write when a run of the batch carries a successor: a refused batch
 * writes nothing, and it goes through once the set is of its type again (or gone).
 */
describe('attack: a completion Redis refuses midway', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const periodicRun = (key: string) => periodicRunRead(f, key);

  it("a periodic run's completion, its delayed set a string: refused naming it, nothing written, its successor once the set is back", async () => {
    const run = await periodicRun('periodic:job');
    await f.redis.set(f.keys.delayed, 'x');
    const before = await written(f, run.id, run.key);
    const refusal = await refusalOf(f.complete('a', [run]));
    expect(await written(f, run.id, run.key)).toEqual(before);
    expect(refusal).toMatch(`WRONGTYPE the delayed set ${f.keys.delayed} holds a string, not a zset`);
    await f.redis.del(f.keys.delayed);
    await expect(f.complete('a', [run])).resolves.toEqual(['completed']);
    expect(await f.redis.zcard(f.keys.delayed)).toBe(1);
    expect((await f.keyState(run.key)).state).toBe('delayed');
  });

  it('a batch of a plain run then a periodic one, its delayed set a string: the plain run is not settled either', async () => {
    const [plainId] = await f.enqueue();
    const [[plainEntry]] = await f.deliver('a');
    const run = await periodicRun('periodic:job');
    await f.redis.set(f.keys.delayed, 'x');
    const before = [await written(f, plainId), await written(f, run.id, run.key)];
    const refusal = await refusalOf(f.complete('a', [{ entryId: plainEntry, id: plainId }, run]));
    expect([await written(f, plainId), await written(f, run.id, run.key)]).toEqual(before);
    expect(refusal).toMatch(/^WRONGTYPE the delayed set/);
  });
});

describe('attack: what the check costs a plain completion', () => {
  const counting = useCountingScripts();

  /** Commands complete.lua runs for one unkeyed run with a result (the hot path), the delayed set `delayed`. */
  async function plainCompletion(queue: string, delayed?: string): Promise<number> {
    const redis = counting.redis();
    const keys = new QueueKeys(counting.prefix, queue);
    const entryId = await plainEntryRead(redis, keys, delayed);
    await redis.set(counting.counter, 0);
    const reply = await completeScript(keys, {
      group: CONSUMER_GROUP,
      consumer: 'a',
      stateTtlMs: 60_000,
      defaultResultTtlMs: 60_000,
      runs: [
        {
          entryId,
          taskId: 'plain',
          result: '{"ok":true,"value":1}',
          generation: 0,
          resultTtlMs: 60_000,
          keepResult: false,
          successor: '',
        },
      ],
    }).run(redis);
    expect(reply).toEqual(['completed']);
    return Number(await redis.get(counting.counter));
  }

  it('reads nothing more: XPENDING, SET, XACK, XPENDING, XTRIM, PUBLISH; the delayed set not read', async () => {
    await expect(plainCompletion('plain')).resolves.toBe(6);
    await expect(plainCompletion('plain-delayed-string', 'x')).resolves.toBe(6);
  });
});
