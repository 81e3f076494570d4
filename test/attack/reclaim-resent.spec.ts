import type { StreamQueueEvent } from '../../lib';
import { resentCall } from '../fixtures/reply-cutting-proxy';
import { sweeperBehindProxy } from '../fixtures/sweeper-behind-proxy';
import { useSpecRedis } from '../utils/spec-redis';

/*
 * Review finding: a sweep's reclaim.lua took a dead worker's entry (XCLAIM: now pending under
 * this worker, its delivery counted), and its reply was lost with the connection. ioredis resent
 * it on the next connection, where the entry was no longer pending under the owner judged dead:
 * the resend took nothing and answered nothing. The entry sat under this worker, in no memory,
 * without a `reclaimed` event, until the recovery took it back a recovery idle time later and
 * counted a delivery more: one delivery short of maxDeliveries, the run never started, the task
 * was dead-lettered as poison.
 */
describe('attack: a reclaim whose reply was lost after Redis ran it', () => {
  const { prefix, redis } = useSpecRedis();

  it('hands the entry over once, counted once, with its reclaimed event', async () => {
    const s = await sweeperBehindProxy(redis, prefix, 'reclaim-resent');
    try {
      const entryId = await s.deliveredTo('dead-worker', 'reclaimed-once'); // its liveness key is gone
      const seen: StreamQueueEvent[] = [];
      s.ctx.events.on('reclaimed', (e) => void seen.push(e));

      // The marker is the entry id: of the sweep's requests, only the reclaim names it.
      const { entries } = await resentCall(s.proxy, entryId, () => s.sweeper.sweep());

      expect(entries.map(([id, , deliveries]) => [id, deliveries])).toEqual([[entryId, 2]]);
      expect(await s.pendingOf(entryId)).toEqual(['me', 2]);
      expect(seen.map((e) => e.detail)).toEqual([entryId]);
    } finally {
      await s.proxy.close();
    }
  }, 20_000);

  it('dead-letters a poison entry it took, once', async () => {
    const s = await sweeperBehindProxy(redis, prefix, 'reclaim-resent-poison', { maxDeliveries: 1 });
    try {
      const entryId = await s.deliveredTo('dead-worker', 'poison-once');
      const seen: StreamQueueEvent[] = [];
      s.ctx.events.on('dead-lettered', (e) => void seen.push(e));

      const { entries } = await resentCall(s.proxy, entryId, () => s.sweeper.sweep());

      expect(entries).toEqual([]);
      expect(await s.pendingOf(entryId)).toBeUndefined();
      expect(await redis.xlen(s.keys.deadLetter)).toBe(1);
      expect(seen.map((e) => e.taskId)).toEqual(['poison-once']);
    } finally {
      await s.proxy.close();
    }
  }, 20_000);
});
