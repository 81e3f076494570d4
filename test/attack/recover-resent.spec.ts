import { resentCall } from '../fixtures/reply-cutting-proxy';
import { sweeperBehindProxy } from '../fixtures/sweeper-behind-proxy';
import { useSpecRedis } from '../utils/spec-redis';

/*
 * Review finding: a sweep's recover.lua took back an entry this worker held in Redis but not in
 * memory (XCLAIM by its owner: a delivery counted), and its reply was lost with the connection.
 * ioredis resent it on the next connection, where the entry was still pending under this worker,
 * so the resend XCLAIMed it again: one take-back counted two deliveries, and a task one short of
 * maxDeliveries was dead-lettered as poison without the run it had left.
 */
describe('attack: a recovery whose reply was lost after Redis ran it', () => {
  const { prefix, redis } = useSpecRedis();

  it('counts one delivery for the one take-back', async () => {
    const s = await sweeperBehindProxy(redis, prefix, 'recover-resent', { maxDeliveries: 2 });
    try {
      // Read once by this worker, its reply lost (in no memory), idle past the recovery's wait.
      const entryId = await s.deliveredTo('me', 'recovered-once');
      await redis.xclaim(s.keys.stream, s.ctx.group, 'me', 0, entryId, 'IDLE', 60_000, 'JUSTID'); // counts none

      const { entries } = await resentCall(s.proxy, entryId, () => s.sweeper.sweep());

      expect(entries.map(([id, , deliveries]) => [id, deliveries])).toEqual([[entryId, 2]]);
      expect(await s.pendingOf(entryId)).toEqual(['me', 2]);
      expect(await redis.xlen(s.keys.deadLetter)).toBe(0);
    } finally {
      await s.proxy.close();
    }
  }, 20_000);
});
