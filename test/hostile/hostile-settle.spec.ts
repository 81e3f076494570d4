import { periodicKey } from '../../lib';
import { Probe } from '../fixtures/probe';
import { cleanUpAfterSuite, logger, startApp } from '../fixtures/test-app';
import { ScheduleVersionModule, YearlyCron } from '../generations/schedule-versions';
import { createRedis, randomPrefix, waitFor } from '../utils/redis';

const toMap = (fields: string[]): Record<string, string> =>
  Object.fromEntries(fields.flatMap((_, i) => (i % 2 ? [] : [[fields[i], fields[i + 1]]])));

// Issue 15 item 10: an entry for a cron task's periodic key, with the key's current generation
// and a due time past the largest JavaScript date, used to wedge every later settle of its worker.
describe('a hostile periodic entry and the settles of its worker', () => {
  const prefix = randomPrefix();
  const redis = createRedis();

  cleanUpAfterSuite(prefix, redis);

  it('is dead-lettered with its reason; the worker settles the tasks that follow it', async () => {
    const probe = new Probe();
    const t = await startApp({ prefix, probe, imports: [ScheduleVersionModule.register(probe, YearlyCron)] });
    const keyState = t.keys.keyState(periodicKey('yearly'));
    await waitFor(async () => (await redis.hget(keyState, 'state')) === 'delayed', { description: 'chain in place' });
    const generation = await redis.hget(keyState, 'gen');

    const fields = ['id', 'hostile-d', 'n', 'yearly', 'p', 'null', 'k', periodicKey('yearly'), 'g', generation!];
    const entryId = await redis.xadd(t.keys.stream, '*', ...fields, 'd', '9000000000000000');
    const after = await Promise.all([1, 2, 3].map((i) => t.client.enqueue('echo', `after-${i}`)));
    await expect(Promise.all(after.map((h) => h.result({ timeoutMs: 3_000 })))).resolves.toEqual([
      'after-1',
      'after-2',
      'after-3',
    ]);

    const letter = await waitFor(
      async () =>
        (await redis.xrange(t.keys.deadLetter, '-', '+')).map(([, f]) => toMap(f)).find((f) => f.entry === entryId),
      { timeoutMs: 3_000, description: 'the dead letter of the hostile entry' },
    );
    expect(letter.reason).toMatch(/field "d" \(due time\)/);
    expect(probe.runsOf('yearly')).toEqual([]);
    // The chain itself is untouched: its real run still waits for its slot.
    expect(await redis.hget(keyState, 'state')).toBe('delayed');
    expect(await redis.hget(keyState, 'gen')).toBe(generation);
    expect(logger.lines.filter((l) => l.level === 'error')).toEqual([]);
  });
});
