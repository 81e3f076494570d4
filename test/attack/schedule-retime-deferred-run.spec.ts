import { scheduleRuntimeScript } from '../../lib/scripts/schedule-runtime.script';
import { ScriptFixture } from '../scripts/script-fixture';
import { closeAll } from '../utils/helpers';

const KEY = 'rt:1';

/**
 * A schedule's run claimed while an older run of its key still runs (the run a re-time
 * superseded, whose handler ignored its signal) is deferred: claim.lua puts it back in the
 * delayed set under field dm with state 'queued'. schedule-runtime.lua took the key's live run
 * for the chain's by reading a queued run's stream entry (field mid), which a deferred run has
 * none of: the chain's own run read as a one-off, so schedule() re-timing the key threw
 * KeyConflictError ('held by a run that is not a schedule's') until the old run ended. A review
 * finding; the spec failed.
 */
describe('attack: schedule() while the chain run waits, deferred behind an older run of its key', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const schedule = (every: number) =>
    scheduleRuntimeScript(f.keys, {
      name: 'job',
      queue: 'q',
      key: KEY,
      payload: '{}',
      schedule: { every },
      fires: [],
      partitions: 1,
    }).run(f.redis);

  /** The key's waiting run, moved into the stream as if due, delivered to `consumer` and claimed. */
  async function runNow(consumer: string): Promise<string> {
    const [member] = await f.redis.zrange(f.keys.delayed, 0, 0);
    await f.redis.zadd(f.keys.delayed, 0, member);
    expect((await f.promote()).moved).toBe(1);
    const [[entryId]] = await f.deliver(consumer);
    const { gen } = await f.keyState(KEY);
    return (await f.claim(consumer, [{ entryId, key: KEY, gen: Number(gen) }], 60_000))[0];
  }

  it('re-times it (code 2), as a waiting run of the chain is', async () => {
    await f.alive('w1');
    await schedule(10_000);
    expect(await runNow('w1')).toBe('run'); // w1 runs it, and goes on running it
    await schedule(20_000); // re-timed: w1's run is superseded, a new first run waits
    expect(await runNow('w2')).toBe('deferred'); // w1 still holds the key
    expect(await f.keyState(KEY)).toMatchObject({ state: 'queued', rt: '1' });
    const reply = await schedule(30_000);
    expect(reply.outcome).toBe('retimed');
    const state = await f.keyState(KEY);
    expect(state.every).toBe('30000');
    // One waiting run: the deferred one was replaced by the new first run.
    expect(await f.redis.zcard(f.keys.delayed)).toBe(1);
  });
});
