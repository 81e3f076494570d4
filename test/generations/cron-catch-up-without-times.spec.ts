import { schedulePeriodicScript } from '../../lib/scripts/schedule-periodic.script';
import type { SuccessorTiming } from '../../lib/scripts/dead-letter.script';
import { cronFires } from '../../lib/task/schedule';
import { GROUP, ScriptFixture } from '../scripts/script-fixture';
import { closeAll } from '../utils/helpers';

const CRON = '* * * * * *'; // every second, on whole seconds of UTC
const KEY = 'periodic:job';

/**
 * Review finding 1, at the script: a poison cron run whose stored fire times are used up, dead-
 * lettered with no timing at all (by a worker that does not run this cron), had its successor
 * due at once every time: a tight loop of poison runs, each killing a worker. One catch-up is
 * still due at once after a run of the grid; a catch-up that again finds no time waits a minute;
 * a dead letter with the worker's timing puts the chain back on its grid.
 */
describe('a cron chain past its stored fire times, dead-lettered without timing', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const redisNow = async () => {
    const [s, us] = await f.redis.time();
    return Number(s) * 1_000 + Math.floor(Number(us) / 1_000);
  };

  /** The run now in the stream, delivered to w1 and w2 (each died), dead-lettered by the sweeper. */
  async function poisonCycle(timing?: SuccessorTiming): Promise<Record<string, string>> {
    const state = await f.keyState(KEY);
    const [[entry, fields]] = await f.deliver('w1');
    expect(fields.d).toBeDefined(); // a periodic run
    const gen = Number(state.gen);
    expect(await f.claim('w1', [{ entryId: entry, id: state.id, key: KEY, gen }])).toEqual(['run']);
    await f.redis.xclaim(f.keys.stream, GROUP, 'w2', 0, entry);
    expect((await f.reclaim('sweeper', [[entry, 'w2']], 2)).poison.length).toBe(1);
    expect(await f.deadLetter('sweeper', entry, 'poison', { id: state.id, key: KEY, timing })).toBe('dead-lettered');
    return f.keyState(KEY);
  }

  /** A boot whose fire times are all past: the first run is due at once, no stored time is left. */
  async function bootWithoutFires(): Promise<void> {
    await schedulePeriodicScript(f.keys, {
      mode: 'boot',
      name: 'job',
      queue: 'q',
      schedule: { cron: CRON, timezone: undefined },
      fires: [],
    }).run(f.redis);
  }

  /** Moves the chain's waiting run into the stream now, as if its time had come. */
  async function promoteNow(): Promise<void> {
    const [member] = await f.redis.zrange(f.keys.delayed, 0, 0);
    await f.redis.zadd(f.keys.delayed, 0, member);
    expect((await f.promote()).moved).toBe(1);
  }

  it('one catch-up at once, then a minute between catch-ups, until a worker with timing settles one', async () => {
    await bootWithoutFires();
    expect((await f.keyState(KEY)).fires).toBe('');

    // A run of the grid dead-lettered without any time: its one catch-up is due at once.
    let before = await redisNow();
    const catchUp = await poisonCycle();
    expect(Number(catchUp.dueAt)).toBeGreaterThanOrEqual(before);
    expect(Number(catchUp.dueAt)).toBeLessThanOrEqual((await redisNow()) + 5);
    expect(catchUp.cu).toBe(catchUp.dueAt);

    // The catch-up dead-lettered without any time either: the next one waits a minute.
    await promoteNow();
    before = await redisNow();
    const held = await poisonCycle();
    expect(Number(held.dueAt)).toBeGreaterThanOrEqual(before + 60_000);
    expect(held.cu).toBe(held.dueAt);
    // And so does the one after it: never back to back.
    await promoteNow();
    before = await redisNow();
    expect(Number((await poisonCycle()).dueAt)).toBeGreaterThanOrEqual(before + 60_000);

    // A worker that runs the cron dead-letters the next one: back on the grid, the hold ends.
    await promoteNow();
    const slot = Number((await f.keyState(KEY)).dueAt);
    const timing = { c: CRON, z: 'UTC', f: cronFires(CRON, 'UTC', slot).map(String) };
    const timed = await poisonCycle(timing);
    expect(Number(timed.dueAt) % 1_000).toBe(0);
    expect(Number(timed.dueAt)).toBeGreaterThan(slot);
    expect(timed.cu).toBeUndefined();
    expect(timed.fires.split(',').length).toBeGreaterThan(0);
  });

  it('with the worker timing each dead letter, every successor is on the grid, one per second', async () => {
    await bootWithoutFires();
    const slots: number[] = [];
    for (let i = 0; i < 4; i++) {
      if (i > 0) await promoteNow();
      const state = await f.keyState(KEY);
      const entryTime = await redisNow(); // a bound on the entry id's time, as the worker reads it
      const after = Math.max(Number(state.dueAt), entryTime - 1_000);
      const timing = { c: CRON, z: 'UTC', f: cronFires(CRON, 'UTC', after).map(String) };
      slots.push(Number((await poisonCycle(timing)).dueAt));
    }
    expect(slots.map((s) => s % 1_000)).toEqual([0, 0, 0, 0]);
    expect(new Set(slots).size).toBe(slots.length);
  });
});
