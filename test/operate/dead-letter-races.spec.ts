import { TaskNotFoundError } from '../../lib';
import { producerAppForSuite } from '../fixtures/test-app';
import { createRedis, randomPrefix } from '../utils/redis';

/**
 * Repairs racing on one dead letter: exactly one of two redrives and a purge takes it, the others
 * answer TaskNotFoundError, and it is queued at most once. (A control from the dead-letter review:
 * it held before the review's fixes; kept so they cannot break it.)
 */
describe('dead letters: concurrent repairs of one dead letter', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const t = producerAppForSuite(prefix, redis);

  it('two redrives and a purge of one keyed dead letter: one wins, the others not found, one entry', async () => {
    for (let round = 0; round < 20; round++) {
      const fields = ['id', `id-${round}`, 'n', 'echo', 'p', '1', 'a', '3', 'k', `k-${round}`, 'g', '4', 'reason', 'r'];
      const dead = (await redis.xadd(t.keys.deadLetter, '*', ...fields))!;
      const before = await redis.xlen(t.keys.stream);
      const results = await Promise.allSettled([
        t.client.redrive(dead),
        t.client.redrive(dead),
        t.client.purgeDeadLetters({ ids: [dead] }),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(TaskNotFoundError);
      expect((await redis.xlen(t.keys.stream)) - before).toBeLessThanOrEqual(1);
      expect(await redis.xlen(t.keys.deadLetter)).toBe(0);
    }
  });
});
