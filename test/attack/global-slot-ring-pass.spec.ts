import type { Redis } from 'ioredis';
import { QueueKeys } from '../../lib/redis/keys';
import { enqueueFlowScript, type FlowLimits } from '../../lib/scripts/enqueue-flow.script';
import { removeTaskScript } from '../../lib/scripts/remove-task.script';
import { CONSUMER_GROUP } from '../../lib/stream-queue.constants';
import { completeFlowRun, useCountingScripts } from '../fixtures/counting-scripts';
import { heldTaskIds } from '../fixtures/flow-state';

/**
 * Review finding (open since the concurrency limits landed): pairs waiting for their task's
 * global slot stayed in the ring, so every feed popped each of them, found the task full and
 * pushed it back. Every settle of any flow run feeds, so the settle of one task paid a pass over
 * every group of another task that waits for a global slot: two list commands per waiting group,
 * inside one script. Measured by an rcall that counts the commands a script runs, the settle of
 * a run of task `other` with 10 and with 1,000 groups of task `busy` waiting for busy's only
 * global slot.
 */

describe('attack: a settle passes over another task’s groups waiting for a global slot', () => {
  const counting = useCountingScripts();
  const { prefix, counter } = counting;
  let redis: Redis;
  beforeAll(() => (redis = counting.redis()));

  const busy: FlowLimits = { global: 1, group: 0, agingMs: 1000 };
  const other: FlowLimits = { global: 0, group: 1, agingMs: 1000 };

  /** Commands one complete of an `other` run costs with `groups` groups of `busy` waiting. */
  const settleCost = async (queue: string, groups: number): Promise<number> => {
    const keys = new QueueKeys(prefix, queue);
    await redis.xgroup('CREATE', keys.stream, CONSUMER_GROUP, '0', 'MKSTREAM');
    const enqueue = (id: string, name: string, group: string, limits: FlowLimits) =>
      enqueueFlowScript(keys, { id, name, payload: '{}', delayMs: 0, runAt: 0, group, limits }).run(redis);
    await enqueue('busy-first', 'busy', 'g0', busy); // takes busy's only global slot
    for (let g = 0; g < groups; g++) await enqueue(`b${g}`, 'busy', `g${g}`, busy);
    await enqueue('other-1', 'other', 'x', other);
    await enqueue('other-2', 'other', 'x', other); // waits for group x's slot
    expect(await redis.zcard(keys.flow.room)).toBe(groups + 1);
    const read = (await redis.xreadgroup('GROUP', CONSUMER_GROUP, 'a', 'STREAMS', keys.stream, '>')) as [
      string,
      [string, string[]][],
    ][];
    const entryOf = (id: string) => read[0][1].find(([, fields]) => fields[fields.indexOf('id') + 1] === id)![0];
    const settle = (taskId: string) => completeFlowRun(redis, keys, entryOf(taskId), taskId);
    await redis.set(counter, 0);
    expect(await settle('other-1')).toEqual(['completed']);
    const commands = Number(await redis.get(counter));
    // other-2 took the freed slot; busy's groups still wait for busy's slot.
    expect(await heldTaskIds(redis, keys)).toContain('other-2');
    expect(await redis.zcard(keys.flow.room)).toBe(groups);
    return commands;
  };

  it("parked groups get the task's freed slots in the order they waited, and none is left behind", async () => {
    const keys = new QueueKeys(prefix, 'order');
    await redis.xgroup('CREATE', keys.stream, CONSUMER_GROUP, '0', 'MKSTREAM');
    const enqueue = (id: string, name: string, group: string, limits: FlowLimits) =>
      enqueueFlowScript(keys, { id, name, payload: '{}', delayMs: 0, runAt: 0, group, limits }).run(redis);
    await enqueue('b0', 'busy', 'g0', busy); // holds busy's slot
    for (const [id, group] of [
      ['b1a', 'g1'],
      ['b2a', 'g2'],
      ['b3a', 'g3'],
      ['b1b', 'g1'],
      ['b4a', 'g4'],
      ['b3b', 'g3'],
    ])
      await enqueue(id, 'busy', group, busy);
    // Another task's waiting enqueue feeds: it parks busy's four groups, in ring order.
    await enqueue('other-1', 'other', 'x', other);
    await enqueue('other-2', 'other', 'x', other);
    // g2's only task is removed while parked: its pair has nothing left to run at its turn.
    expect(await removeTaskScript(keys, { id: 'b2a', state: 'waiting' }, 60_000).run(redis)).toBeTruthy();
    const started: string[] = [];
    const entryOf = new Map<string, string>(); // task id -> entry id, of the entries read
    const readNew = async () => {
      const read = (await redis.xreadgroup('GROUP', CONSUMER_GROUP, 'a', 'STREAMS', keys.stream, '>')) as
        [string, [string, string[]][]][] | null;
      for (const [entryId, fields] of read?.[0][1] ?? []) entryOf.set(fields[fields.indexOf('id') + 1], entryId);
    };
    await readNew();
    const settled = new Set<string>();
    for (let running = 'b0'; ;) {
      const reply = await completeFlowRun(redis, keys, entryOf.get(running)!, running);
      expect(reply).toEqual(['completed']);
      settled.add(running);
      // busy's only slot passes to the next of its waiting groups.
      await readNew();
      const next = [...entryOf.keys()].find((id) => id.startsWith('b') && !settled.has(id));
      if (!next) break;
      started.push(next);
      running = next;
    }
    // Groups in turn, from the order they were parked (g2 skipped: nothing left), then g1 and
    // g3 again after the ring's turn.
    expect(started).toEqual(['b1a', 'b3a', 'b4a', 'b1b', 'b3b']);
    // Nothing of busy is left waiting (other-2 waits for other-1, which this spec never settles).
    expect((await redis.zrange(keys.flow.room, 0, -1)).map((m) => m.split('\0')[0])).toEqual(['other']);
  });

  it('a raised global limit admits the parked groups it makes room for', async () => {
    const keys = new QueueKeys(prefix, 'raised');
    await redis.xgroup('CREATE', keys.stream, CONSUMER_GROUP, '0', 'MKSTREAM');
    const enqueue = (id: string, name: string, group: string, limits: FlowLimits) =>
      enqueueFlowScript(keys, { id, name, payload: '{}', delayMs: 0, runAt: 0, group, limits }).run(redis);
    await enqueue('b0', 'busy', 'g0', busy);
    for (const group of ['g1', 'g2', 'g3']) await enqueue(`b-${group}`, 'busy', group, busy);
    await enqueue('other-1', 'other', 'x', other);
    await enqueue('other-2', 'other', 'x', other); // parks busy's three groups
    // A producer with a new definition (globalConcurrency 3) records it: two slots more.
    await enqueue('b-g4', 'busy', 'g4', { ...busy, global: 3 });
    expect(await heldTaskIds(redis, keys)).toEqual(['b-g1', 'b-g2', 'b0', 'other-1']);
  });

  it('costs the same with 1,000 groups of another task waiting as with 10', async () => {
    const few = await settleCost('few', 10);
    const many = await settleCost('many', 1_000);
    console.log(`one settle with another task's groups waiting: ${few} commands (10 groups), ${many} (1,000 groups)`);
    expect(many).toBeLessThanOrEqual(few + 10);
  }, 60_000);
});
