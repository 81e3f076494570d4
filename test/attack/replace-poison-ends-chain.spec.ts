import { schedulePeriodicScript } from '../../lib/scripts/schedule-periodic.script';
import { scheduleRuntimeScript } from '../../lib/scripts/schedule-runtime.script';
import { GROUP, ScriptFixture } from '../scripts/script-fixture';
import { closeAll } from '../utils/helpers';

/**
 * Review finding 3: dead-letter.lua scheduled a successor for any run of a key whose state held a
 * schedule, periodic or not. The one-off run of a replace() on a runtime schedule's key (README:
 * "runs the task once and ends the chain"), dead-lettered as poison, kept the chain going. Only a
 * periodic run (it carries its slot, field d) schedules a successor; a replace() on a `@Task`
 * schedule's key restarts its chain with a periodic run, which still does.
 */
describe('attack: the poison one-off of a replace() on a schedule key', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  /** The run now in the stream, delivered to w1 and w2 (each died), dead-lettered by the sweeper. */
  async function poison(key: string, id: string, gen: number): Promise<Record<string, string>> {
    const [[entry, fields]] = await f.deliver('w1');
    expect(await f.claim('w1', [{ entryId: entry, id, key, gen }])).toEqual(['run']);
    await f.redis.xclaim(f.keys.stream, GROUP, 'w2', 0, entry);
    const { poison } = await f.reclaim('sweeper', [[entry, 'w2']], 2);
    expect(poison.length).toBe(1);
    expect(await f.deadLetter('sweeper', entry, 'poison', { id, key })).toBe('dead-lettered');
    return fields;
  }

  it('a runtime schedule: no successor after its dead letter, and the key is no schedule', async () => {
    const key = 'rem:1';
    const created = await scheduleRuntimeScript(f.keys, {
      name: 'job',
      queue: 'q',
      key,
      payload: '{}',
      schedule: { every: 60_000 },
      fires: [],
      partitions: 1,
    }).run(f.redis);
    expect(created.outcome).toBe('created');
    const [id, gen] = await f.enqueue({ key, mode: 'replace', name: 'job' });
    expect(await f.redis.zcard(f.keys.delayed)).toBe(0); // the chain's waiting run is gone
    expect((await poison(key, id, gen)).d).toBeUndefined(); // a one-off run, no slot

    const state = await f.keyState(key);
    expect(await f.redis.zrange(f.keys.delayed, 0, -1)).toEqual([]);
    expect(state.state).toBe('failed');
    // replace() ended the schedule: its markers and stored schedule went with it.
    for (const field of ['rt', 'sig', 'sk', 'every']) expect(state[field]).toBeUndefined();
  });

  it('a @Task schedule: replace() restarts the chain with a periodic run, whose dead letter keeps it', async () => {
    const key = 'periodic:job';
    const schedule = { every: 60_000 };
    await schedulePeriodicScript(f.keys, { mode: 'boot', name: 'job', queue: 'q', schedule, fires: [] }).run(f.redis);
    const replaced = await schedulePeriodicScript(f.keys, {
      mode: 'replace',
      name: 'job',
      queue: 'q',
      payload: '{}',
      schedule: undefined,
      runAt: 0,
      delayMs: 0,
    }).run(f.redis);
    expect(replaced.outcome).toBe('replaced');
    expect((await poison(key, replaced.id, replaced.generation)).d).toBeDefined();

    const state = await f.keyState(key);
    expect(state.state).toBe('delayed');
    expect(await f.redis.zcard(f.keys.delayed)).toBe(1);
    expect(Number(state.dueAt) - Number(state.enqueuedAt)).toBeLessThanOrEqual(60_000);
  });
});
