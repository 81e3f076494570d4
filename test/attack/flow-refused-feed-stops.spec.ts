import type { Redis } from 'ioredis';
import { QueueKeys } from '../../lib/redis/keys';
import { enqueueFlowScript } from '../../lib/scripts/enqueue-flow.script';
import { CONSUMER_GROUP } from '../../lib/stream-queue.constants';
import { completeFlowRun, useLoggingScripts } from '../fixtures/counting-scripts';
import { waitingTaskIds } from '../fixtures/flow-state';
import { LAST_ENTRY_ID } from '../fixtures/last-entry-id';

/**
 * A feed whose admission the stream refused (out of ids: flow-admission-stream-out-of-ids.spec.ts)
 * stops there. It went on over the whole ring, each pair popped, checked and pushed back with no
 * admission possible: while the stream refused, every settle with waiting groups in the ring paid
 * a pass over all of them (about six commands a pair), one per waiting group. A review finding;
 * the spec failed.
 */
describe('attack: a feed refused by the stream stops', () => {
  const logging = useLoggingScripts();
  const { prefix, log } = logging;
  let redis: Redis;
  beforeAll(() => (redis = logging.redis()));

  it('a settle pops one pair of the ring, not every one, once the stream refused', async () => {
    const keys = new QueueKeys(prefix, 'q');
    await redis.xgroup('CREATE', keys.stream, CONSUMER_GROUP, '0', 'MKSTREAM');
    const groups = ['G1', 'G2', 'G3', 'G4'];
    // Each group at its limit of one, one task of it waiting.
    for (const group of groups) {
      for (const id of [`a${group}`, `b${group}`]) {
        await enqueueFlowScript(keys, {
          id,
          name: 'job',
          payload: '{}',
          delayMs: 0,
          runAt: 0,
          group,
          limits: { global: 0, group: 1, agingMs: 1000 },
        }).run(redis);
      }
    }
    const read = (await redis.xreadgroup('GROUP', CONSUMER_GROUP, 'a', 'STREAMS', keys.stream, '>')) as [
      string,
      [string, string[]][],
    ][];
    expect(read[0][1]).toHaveLength(groups.length);
    await redis.xsetid(keys.stream, LAST_ENTRY_ID);
    // Each settle gives its group's slot back and rings the group (its waiting task refused).
    const ringPops: number[] = [];
    for (const [entryId, fields] of read[0][1]) {
      await redis.del(log);
      expect(await completeFlowRun(redis, keys, entryId, fields[fields.indexOf('id') + 1])).toEqual(['completed']);
      ringPops.push((await redis.lrange(log, 0, -1)).filter((c) => c.startsWith(`LPOP ${keys.tag}:flow:ring`)).length);
    }
    // The first settle hands over in place (no ring); each later one tries the ring's head alone.
    expect(ringPops).toEqual([0, 1, 1, 1]);
    expect(await redis.llen(keys.flow.ring)).toBe(groups.length);
    expect(await waitingTaskIds(redis, keys)).toEqual(groups.map((g) => `b${g}`));
  });
});
