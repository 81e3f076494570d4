import type { Outcome } from '../../lib/consumer/outcome';
import { Settler } from '../../lib/consumer/settler';
import { definitionOf as definition, settleContext } from '../fixtures/settle-context';
import { useSpecRedis } from '../utils/helpers';

const GROUP = 'workers';

// Issue 15 item 10: building one outcome's settle must not be able to fail the others.
describe('Settler isolates each outcome', () => {
  const { prefix, redis } = useSpecRedis();

  it('an outcome whose arguments cannot be built is dead-lettered with its reason; the rest settle', async () => {
    const { ctx, keys, logs, delivered } = await settleContext(redis, prefix);
    // Building its settle throws (a cron this worker cannot read no longer does: the script times
    // that successor, see successor-timing.ts): any failure there must not fail the batch.
    const broken = definition('broken', { queue: 'q' });
    Object.defineProperty(broken.options, 'schedule', {
      get: () => {
        throw new Error('Invalid characters in a schedule');
      },
    });
    await redis.hset(keys.keyState('periodic:broken'), 'gen', '1', 'id', 'bad', 'state', 'running');
    const good = await delivered(['id', 'good', 'n', 'fine', 'p', '1']);
    const bad = await delivered([
      'id',
      'bad',
      'n',
      'broken',
      'p',
      'null',
      'k',
      'periodic:broken',
      'g',
      '1',
      'd',
      '1700000000000',
    ]);
    const flaky = await delivered(['id', 'flaky', 'n', 'fine', 'p', '2']);
    const fine = definition('fine', { queue: 'q' });
    const outcomes: Outcome[] = [
      { kind: 'completed', delivery: good, definition: fine, result: '{"ok":true,"value":1}', resultTtlMs: 60_000 },
      { kind: 'completed', delivery: bad, definition: broken, result: '{"ok":true}', resultTtlMs: 60_000 },
      { kind: 'failed', delivery: flaky, definition: fine, error: { name: 'Error', message: 'try again' } },
    ];

    await expect(new Settler(ctx).settle(outcomes)).resolves.toEqual([]);

    expect(await redis.get(keys.result('good'))).toBe('{"ok":true,"value":1}');
    expect(await redis.zcard(keys.delayed)).toBe(1); // flaky's retry
    const letters = await redis.xrange(keys.deadLetter, '-', '+');
    expect(letters).toHaveLength(1);
    const letter = Object.fromEntries(letters[0][1].flatMap((v, i, a) => (i % 2 ? [] : [[v, a[i + 1]]])));
    expect(letter).toMatchObject({ id: 'bad', n: 'broken' });
    expect(letter.reason).toMatch(/could not be settled.*Invalid characters/);
    expect(await redis.xpending(keys.stream, GROUP)).toEqual([0, null, null, null]);
    expect(logs.lines.some((l) => l.level === 'error' && /bad/.test(l.message))).toBe(true);
  });
});
