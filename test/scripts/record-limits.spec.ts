import { recordLimitsScript } from '../../lib/scripts/record-limits.script';
import { closeAll } from '../utils/helpers';
import { ScriptFixture } from './script-fixture';
import { heldTaskIds, waitingTaskIds } from '../fixtures/flow-state';

/**
 * record-limits.lua: a worker's start records its tasks' limits in a partition, as an enqueue
 * with the definition does (flowSetLimits), and feeds what a raise frees (flowFeedAll).
 */
describe('record-limits.lua', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const one = { global: 0, group: 1, agingMs: 1000 };

  it('records the limits of each task given, where none were', async () => {
    const reply = await recordLimitsScript(
      f.keys,
      [
        { name: 'job', limits: one },
        { name: 'rush', limits: { global: 2, group: 0, agingMs: 1000, rate: { max: 3, perMs: 500 } } },
      ],
      1,
    ).run(f.redis);
    expect(reply).toBe(0);
    expect(await f.redis.hgetall(f.keys.flow.limits)).toEqual({ job: '0 1 1000 0 0 0 0', rush: '2 0 1000 3 500 0 0' });
  });

  it('a raise admits the tasks waiting under the old limit, by rank', async () => {
    await f.enqueueFlow('a', one, 'G');
    await f.enqueueFlow('b', one, 'G');
    await f.enqueueFlow('c', one, 'G');
    expect(await waitingTaskIds(f.redis, f.keys)).toEqual(['b', 'c']);
    const reply = await recordLimitsScript(f.keys, [{ name: 'job', limits: { ...one, group: 2 } }], 1).run(f.redis);
    expect(reply).toBe(1);
    expect(await heldTaskIds(f.redis, f.keys)).toEqual(['a', 'b']);
    expect(await waitingTaskIds(f.redis, f.keys)).toEqual(['c']);
    expect(await f.redis.xlen(f.keys.stream)).toBe(2);
  });

  it('a lower limit while runs are held marks the task changed, admitting nothing', async () => {
    await f.enqueueFlow('a', { ...one, group: 2 }, 'G');
    await f.enqueueFlow('b', { ...one, group: 2 }, 'G');
    expect(await recordLimitsScript(f.keys, [{ name: 'job', limits: one }], 1).run(f.redis)).toBe(0);
    expect(await f.redis.hget(f.keys.flow.limits, '\0changed\0job')).toBe('1');
    expect(await heldTaskIds(f.redis, f.keys)).toEqual(['a', 'b']);
  });

  it('the same limits again change nothing', async () => {
    await f.enqueueFlow('a', one, 'G');
    await recordLimitsScript(f.keys, [{ name: 'job', limits: one }], 1).run(f.redis);
    expect(await f.redis.hget(f.keys.flow.limits, '\0changed\0job')).toBeNull();
  });

  it('a flow key of another type refuses the call before any write', async () => {
    await f.redis.set(f.keys.flow.room, 'x');
    await expect(recordLimitsScript(f.keys, [{ name: 'job', limits: one }], 1).run(f.redis)).rejects.toThrow(
      /WRONGTYPE/,
    );
    expect(await f.redis.exists(f.keys.flow.limits)).toBe(0);
  });

  // Attack round (shares): a worker of 2 partitions whose start left a partition unrecorded (a key
  // of another type) records again at a sweep; a count change to 3 meanwhile made its share of
  // globalConcurrency 6 (3) another count's: recorded, 3 + 2 + 2 ran at once where 6 is the limit.
  it("refuses a worker whose count is not the layout record's, writing nothing", async () => {
    const share = { global: 3, group: 0, agingMs: 1000 };
    await f.redis.set(f.keys.layout, '3');
    await expect(recordLimitsScript(f.keys, [{ name: 'job', limits: share }], 2).run(f.redis)).rejects.toThrow(
      /^LAYOUT 3 2/,
    );
    await f.redis.set(f.keys.layout, '2>3');
    await expect(recordLimitsScript(f.keys, [{ name: 'job', limits: share }], 2).run(f.redis)).rejects.toThrow(
      /^LAYOUT 2>3 2/,
    );
    expect(await f.redis.exists(f.keys.flow.limits)).toBe(0);
    await f.redis.set(f.keys.layout, '2');
    await recordLimitsScript(f.keys, [{ name: 'job', limits: share }], 2).run(f.redis);
    expect(await f.redis.hget(f.keys.flow.limits, 'job')).toBe('3 0 1000 0 0 0 0');
  });

  it('takes an absent record under a count above 1 as one Redis lost (the worker records its share)', async () => {
    const share = { global: 3, group: 0, agingMs: 1000 };
    await recordLimitsScript(f.keys, [{ name: 'job', limits: share }], 2).run(f.redis);
    expect(await f.redis.hget(f.keys.flow.limits, 'job')).toBe('3 0 1000 0 0 0 0');
  });
});
