import { producerAppForSuite } from '../fixtures/test-app';
import { createRedis, randomPrefix } from '../utils/redis';

/**
 * A purge of every dead letter deleted the dead-letter stream (DEL), and a stream made anew
 * numbers its entries from Redis's clock alone: a task dead-lettered in the purged newest's
 * millisecond, or after the clock went back, took an id at or below it. A bound read before that
 * purge (the dashboard's listing, the CLI's question: "up to T-5") then took in a dead letter no
 * one was shown, and a bounded Purge all or Redrive all acted on it. The purge now trims the
 * stream to nothing (XTRIM MAXLEN 0), which keeps its last id: every later dead letter sorts
 * after every purged one. The explicit future id stands for "the same millisecond". A review
 * finding; the test failed.
 */
describe('attack: a purge of all dead letters keeps the stream numbering on', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const t = producerAppForSuite(prefix, redis);

  it('a dead letter written after the purge sorts after the purged newest', async () => {
    const newest = `${Date.now() + 60_000}-5`;
    await redis.xadd(t.keys.deadLetter, newest, 'id', 't-old', 'reason', 'r');
    const bound = await t.client.deadLetterBound();
    expect(bound.upTo).toEqual([newest]);

    await expect(t.client.purgeDeadLetters()).resolves.toBe(1);
    const late = (await redis.xadd(t.keys.deadLetter, '*', 'id', 't-late', 'reason', 'r'))!;

    // Bounded by what was listed before the purge, the late one is left alone.
    await expect(t.client.purgeDeadLetters({ upTo: bound.upTo })).resolves.toBe(0);
    expect((await redis.xrange(t.keys.deadLetter, '-', '+')).map(([id]) => id)).toEqual([late]);
  });
});
