import type { StreamQueueEvent } from '../../lib';
import { DeadLetterer } from '../../lib/consumer/dead-letterer';
import { resentCall } from '../fixtures/reply-cutting-proxy';
import { sweeperBehindProxy } from '../fixtures/sweeper-behind-proxy';
import { useSpecRedis } from '../utils/spec-redis';

/*
 * Review finding: a worker dead-lettered an entry (malformed, or poison past maxDeliveries)
 * through dead-letter.lua, and its reply was lost with the connection. ioredis resent it on the
 * next connection, where the entry was no longer pending (the first execution acked it) and the
 * script answered "already settled": the worker reported nothing, though Redis had dead-lettered
 * the entry: no `dead-lettered` event (counter, metric), no warning naming the entry and its
 * reason, and the sweep's log counted it out.
 */
describe('attack: a dead-lettering whose reply was lost after Redis ran it', () => {
  const { prefix, redis } = useSpecRedis();

  it('a poison entry the recovery took is reported dead-lettered, once', async () => {
    const s = await sweeperBehindProxy(redis, prefix, 'dead-letter-resent', { maxDeliveries: 1 });
    try {
      const entryId = await s.deliveredTo('me', 'poison-reported');
      await redis.xclaim(s.keys.stream, s.ctx.group, 'me', 0, entryId, 'IDLE', 60_000, 'JUSTID');
      const seen: StreamQueueEvent[] = [];
      s.ctx.events.on('dead-lettered', (e) => void seen.push(e));

      // The marker is the reason: only the dead-lettering names it.
      const { entries } = await resentCall(s.proxy, 'without settling (poison', () => s.sweeper.sweep());

      expect(entries).toEqual([]);
      expect(await redis.xlen(s.keys.deadLetter)).toBe(1);
      expect(seen.map((e) => [e.taskId, e.detail])).toEqual([
        ['poison-reported', 'delivered 1 times without settling (poison message?)'],
      ]);
      expect(s.logs.warnings().filter((w) => w.includes(entryId))).toEqual([
        expect.stringContaining(`Stream entry ${entryId} on queue "dead-letter-resent" dead-lettered`),
      ]);
    } finally {
      await s.proxy.close();
    }
  }, 20_000);

  it('another call for an entry already dead-lettered still answers false and reports nothing', async () => {
    const s = await sweeperBehindProxy(redis, prefix, 'dead-letter-again');
    try {
      const entryId = await s.deliveredTo('me', 'dead-once');
      const seen: StreamQueueEvent[] = [];
      s.ctx.events.on('dead-lettered', (e) => void seen.push(e));
      const deadLetterer = new DeadLetterer({ ...s.ctx, redis });
      const fields = ['id', 'dead-once', 'n', 'job', 'p', '1'];

      expect(await deadLetterer.deadLetter(entryId, fields, 'first')).toBe(true);
      expect(await deadLetterer.deadLetter(entryId, fields, 'second')).toBe(false);

      expect(seen.map((e) => e.detail)).toEqual(['first']);
      expect(await redis.xlen(s.keys.deadLetter)).toBe(1);
    } finally {
      await s.proxy.close();
    }
  });
});
