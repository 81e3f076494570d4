import { DeadLetterer } from '../../lib/consumer/dead-letterer';
import { InFlight } from '../../lib/consumer/in-flight';
import type { Outcome } from '../../lib/consumer/outcome';
import { Settler } from '../../lib/consumer/settler';
import { Slots } from '../../lib/consumer/slots';
import { Delivery } from '../../lib/consumer/delivery';
import { scheduleRuntimeScript } from '../../lib/scripts/schedule-runtime.script';
import { parseEntry, type TaskMessage } from '../../lib/task/task-message';
import { definitionOf, settleContext } from '../fixtures/settle-context';
import { useSpecRedis } from '../utils/helpers';

/**
 * Review finding: a runtime cron schedule whose stored expression this worker cannot compute (a
 * newer version's syntax, a zone this Node's ICU lacks). The dead-letter path fell back to the
 * script's own timing and the chain went on; a run that simply completed was dead-lettered as
 * unsettleable, without a successor: the runtime chain ended for good (no boot restarts it).
 */
describe('a runtime cron schedule whose stored cron this worker cannot compute', () => {
  const { prefix, redis } = useSpecRedis();

  async function setUp(queue: string) {
    const { ctx, keys } = await settleContext(redis, prefix, queue);
    const created = await scheduleRuntimeScript(keys, {
      name: 'job',
      queue,
      key: 'rem:1',
      payload: '{}',
      schedule: { cron: '0 9 * * 1', timezone: 'UTC' },
      fires: [], // due at once
      partitions: 1,
    }).run(redis);
    expect(created.outcome).toBe('created');
    // What this worker cannot parse (e.g. a zone its ICU lacks): stored as a schedule() elsewhere wrote it.
    await redis.hset(keys.keyState('rem:1'), 'tz', 'Mars/Olympus_Mons');
    const reply = (await redis.xreadgroup('GROUP', 'workers', 'me', 'COUNT', 1, 'STREAMS', keys.stream, '>')) as [
      string,
      [string, string[]][],
    ][];
    const [[entryId, raw]] = reply[0][1];
    return { ctx, keys, entryId, delivery: new Delivery(parseEntry(entryId, raw) as TaskMessage) };
  }

  it('goes on when a run is dead-lettered as poison (the script times it)', async () => {
    const { ctx, keys, entryId } = await setUp('qa');
    const parts = { ...ctx, inFlight: new InFlight(), slots: new Slots(4) };
    expect(
      await new DeadLetterer(parts).deadLetter(
        entryId,
        (await redis.xrange(keys.stream, entryId, entryId))[0][1],
        'poison',
      ),
    ).toBe(true);
    const state = await redis.hgetall(keys.keyState('rem:1'));
    expect(state.state).toBe('delayed');
  });

  it('goes on when a run completes (the script times it), nothing dead-lettered', async () => {
    const { ctx, keys, delivery } = await setUp('qb');
    const outcomes: Outcome[] = [
      {
        kind: 'completed',
        delivery,
        definition: definitionOf('job', { queue: 'qb' }),
        result: '{"ok":true}',
        resultTtlMs: 60_000,
      },
    ];
    await expect(new Settler(ctx).settle(outcomes)).resolves.toEqual([]);
    const state = await redis.hgetall(keys.keyState('rem:1'));
    const letters = await redis.xlen(keys.deadLetter);
    expect({ state: state.state, letters }).toEqual({ state: 'delayed', letters: 0 });
  });
});
