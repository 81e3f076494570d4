import type { Redis } from 'ioredis';
import { QueueKeys } from '../../lib/redis/keys';
import { claimScript } from '../../lib/scripts/claim.script';
import { enqueueFlowScript, type FlowLimits } from '../../lib/scripts/enqueue-flow.script';
import { CONSUMER_GROUP } from '../../lib/stream-queue.constants';
import { completeFlowRun, useCountingScripts } from '../fixtures/counting-scripts';

/**
 * Attack on the cost of waiting under rateLimit (guarantee 2: no cost that grows with what
 * waits). While the task's window is full, its pairs stay in the ring "at their turn": every feed
 * pops each of them, finds the window full (cached), sets it aside and pushes it back at the
 * ring's head (rateHold, rateRestore). Every settle of any flow run, every enqueue that waits and
 * every wake feeds, so each one passes over the whole ring: two list commands per waiting group.
 * With 1,000 tenants waiting for a token, one settle costs thousands of Redis commands, all
 * inside one script (Redis blocked meanwhile). Measured by an rcall that counts the commands a
 * script runs (into a counter key under the spec's prefix), the same settle with 10 and with
 * 1,000 waiting groups.
 */

describe('attack: a settle under a full rateLimit window passes over every waiting group', () => {
  const counting = useCountingScripts();
  const { prefix, counter } = counting;
  let redis: Redis;
  beforeAll(() => (redis = counting.redis()));

  const rate: FlowLimits = { global: 0, group: 0, agingMs: 1000, rate: { max: 1, perMs: 600_000 } };

  /** Commands one complete (of the run holding the only token) runs with `groups` groups waiting. */
  const settleCost = async (queue: string, groups: number): Promise<number> => {
    const keys = new QueueKeys(prefix, queue);
    await redis.xgroup('CREATE', keys.stream, CONSUMER_GROUP, '0', 'MKSTREAM');
    const enqueue = (id: string, group: string) =>
      enqueueFlowScript(keys, { id, name: 'job', payload: '{}', delayMs: 0, runAt: 0, group, limits: rate }).run(redis);
    await enqueue('first', 'g0'); // takes the only token
    for (let g = 0; g < groups; g++) await enqueue(`w${g}`, `g${g}`); // each group waits in the ring
    expect(await redis.zcard(keys.flow.room)).toBe(groups); // each group's task waits in the room
    const read = (await redis.xreadgroup('GROUP', CONSUMER_GROUP, 'a', 'STREAMS', keys.stream, '>')) as [
      string,
      [string, string[]][],
    ][];
    const [entryId] = read[0][1][0];
    await claimScript(keys, {
      group: CONSUMER_GROUP,
      consumer: 'a',
      deferMs: 50,
      stateTtlMs: 60_000,
      messages: [{ entryId, taskId: 'first', generation: 0, key: undefined, rated: true }],
    }).run(redis);
    await redis.set(counter, 0);
    const reply = await completeFlowRun(redis, keys, entryId, 'first');
    expect(reply).toEqual(['completed']);
    return Number(await redis.get(counter));
  };

  it('costs the same with 1,000 waiting groups as with 10', async () => {
    const few = await settleCost('few', 10);
    const many = await settleCost('many', 1_000);
    console.log(`one settle under a full rateLimit window: ${few} commands (10 groups), ${many} (1,000 groups)`);
    expect(many).toBeLessThanOrEqual(few + 10);
  }, 60_000);
});
