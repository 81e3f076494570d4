import { timingOf } from '../../lib/consumer/successor-timing';
import { settledTickSuccessor } from '../fixtures/periodic-successor';
import { cleanupPrefix, closeAll, createRedis, randomPrefix } from '../utils/redis';

/**
 * cron-parser reads `H` (a hashed value, as in Jenkins: `H * * * *` is once an hour, at a minute
 * of its own) from a seed, and without one from Math.random: every computation of a chain's fire
 * times, each boot's and each settle's, drew another minute. Accepted by `cron`, `H * * * *`
 * ran at a new random minute after each run: about twice an hour, never on one grid. The seed is
 * now the chain's key: every worker, every settle, the same minute. A review finding; the spec
 * failed.
 */
describe('attack: a cron with hashed (H) fields', () => {
  const redis = createRedis();
  const prefixes: string[] = [];
  afterAll(async () => {
    for (const prefix of prefixes) await cleanupPrefix(redis, prefix);
    await closeAll();
  });

  it('settles of one slot, on three queues, schedule one and the same successor', async () => {
    const slot = Date.UTC(2030, 0, 1, 0, 0, 0);
    const dues: number[] = [];
    for (let i = 0; i < 3; i++) {
      const prefix = randomPrefix();
      prefixes.push(prefix);
      dues.push(await settledTickSuccessor(redis, prefix, { cron: 'H H H * * *', timezone: undefined }, slot));
    }
    expect(new Set(dues).size).toBe(1);
    expect(dues[0]).toBeGreaterThan(slot);
    expect(dues[0]).toBeLessThanOrEqual(slot + 86_400_000);
  });

  it("a chain's fire times are on one daily grid, whoever computes them", () => {
    const run = { entryId: '0-1', name: 'tick', key: 'periodic:tick', dueAt: Date.UTC(2030, 0, 1) };
    const timings = Array.from({ length: 5 }, () => timingOf({ cron: 'H H * * *', timezone: undefined }, run));
    for (const t of timings) expect(t).toEqual(timings[0]);
    const fires = (timings[0] as { f: string[] }).f.map(Number);
    expect(fires.slice(1).map((t, i) => t - fires[i])).toEqual(Array(15).fill(86_400_000));
  });
});
