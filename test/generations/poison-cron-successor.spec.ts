import { DeadLetterer } from '../../lib/consumer/dead-letterer';
import { InFlight } from '../../lib/consumer/in-flight';
import { Intake } from '../../lib/consumer/intake';
import { Slots } from '../../lib/consumer/slots';
import { Sweeper } from '../../lib/consumer/sweeper';
import { schedulePeriodicScript } from '../../lib/scripts/schedule-periodic.script';
import { scheduleRuntimeScript } from '../../lib/scripts/schedule-runtime.script';
import { definitionOf, settleContext } from '../fixtures/settle-context';
import { useSpecRedis } from '../utils/helpers';

const CRON = '* * * * * *'; // every second, on whole seconds of UTC
const CRON_SCHEDULE = { cron: CRON, timezone: undefined };

/**
 * Review finding 1, through the worker's own dead-lettering: dead-letter.lua built a periodic
 * run's successor with no timing, so a cron chain whose stored fire times were used up had a
 * catch-up due at once after every poison run (each one killing a worker), never back on its
 * grid. The DeadLetterer now sends the timing a failed run's settle would (the definition for a
 * `@Task` schedule, the stored schedule for a runtime one), for poison (the sweeper) and for
 * malformed entries (intake) alike.
 */
describe('a poison cron run past its stored fire times, dead-lettered by a worker', () => {
  const { prefix, redis } = useSpecRedis();

  const redisNow = async () => {
    const [s, us] = await redis.time();
    return Number(s) * 1_000 + Math.floor(Number(us) / 1_000);
  };

  /** A worker's queue parts on `queue`, defining task 'job' as given (an undefined schedule: not periodic). */
  async function worker(queue: string, schedule?: typeof CRON_SCHEDULE) {
    const { ctx, keys } = await settleContext(redis, prefix, queue);
    const definition = definitionOf('job', { queue, schedule });
    const parts = { ...ctx, inFlight: new InFlight(), slots: new Slots(4) };
    const deadLetterer = new DeadLetterer(parts, (name) => (name === 'job' ? definition : undefined));
    return { parts, keys, deadLetterer };
  }

  /** The chain's run now in the stream, delivered as often as a poison message ever is, to a worker now dead. */
  async function deliveredToTheDead(keys: { stream: string }, deliveries: number): Promise<string> {
    const reply = (await redis.xreadgroup('GROUP', 'workers', 'ghost', 'COUNT', 1, 'STREAMS', keys.stream, '>')) as [
      string,
      [string, string[]][],
    ][];
    const [[entryId]] = reply[0][1];
    await redis.xclaim(keys.stream, 'workers', 'ghost', 0, entryId, 'RETRYCOUNT', deliveries);
    return entryId;
  }

  async function expectBackOnTheGrid(keyState: string, before: number): Promise<void> {
    const state = await redis.hgetall(keyState);
    expect(state.state).toBe('delayed');
    expect(Number(state.dueAt) % 1_000).toBe(0);
    expect(Number(state.dueAt)).toBeGreaterThan(before);
    expect(state.fires.split(',').length).toBeGreaterThan(1); // the worker's fire times, kept
    expect(state.cu).toBeUndefined(); // not a catch-up
  }

  it('a @Task cron: the sweeper dead-letters it with the definition’s timing', async () => {
    const { parts, keys, deadLetterer } = await worker('q', CRON_SCHEDULE);
    // A boot whose fire times are all past: the run is due at once, no stored fire time is left.
    await schedulePeriodicScript(keys, {
      mode: 'boot',
      name: 'job',
      queue: 'q',
      schedule: CRON_SCHEDULE,
      fires: [],
    }).run(redis);
    await deliveredToTheDead(keys, parts.config.maxDeliveries);
    const before = await redisNow();
    await new Sweeper(parts, deadLetterer).sweep();
    expect(await redis.xlen(keys.deadLetter)).toBe(1);
    await expectBackOnTheGrid(keys.keyState('periodic:job'), before);
  });

  it('a runtime cron: the sweeper times it from the stored schedule, on a worker that defines none', async () => {
    const { parts, keys, deadLetterer } = await worker('q2');
    await scheduleRuntimeScript(keys, {
      name: 'job',
      queue: 'q2',
      key: 'rem:1',
      payload: '{}',
      schedule: { cron: CRON, timezone: 'UTC' },
      fires: [],
      partitions: 1,
    }).run(redis);
    await deliveredToTheDead(keys, parts.config.maxDeliveries);
    const before = await redisNow();
    await new Sweeper(parts, deadLetterer).sweep();
    expect(await redis.xlen(keys.deadLetter)).toBe(1);
    await expectBackOnTheGrid(keys.keyState('rem:1'), before);
  });

  it('a malformed run of a @Task cron (payload too big): intake dead-letters it with the timing too', async () => {
    const { parts, keys, deadLetterer } = await worker('q3', CRON_SCHEDULE);
    await schedulePeriodicScript(keys, {
      mode: 'boot',
      name: 'job',
      queue: 'q3',
      schedule: CRON_SCHEDULE,
      fires: [],
    }).run(redis);
    const small = { ...parts, config: { ...parts.config, maxPayloadBytes: 1 } }; // 'null' is over it
    const reply = (await redis.xreadgroup('GROUP', 'workers', 'me', 'STREAMS', keys.stream, '>')) as [
      string,
      [string, string[]][],
    ][];
    const before = await redisNow();
    const slot = small.slots.reserve(1);
    expect(slot).toBe(1);
    expect(await new Intake(small, undefined, deadLetterer).admit({ entries: reply[0][1], sentAt: 0 })).toEqual([]);
    expect(await redis.xlen(keys.deadLetter)).toBe(1);
    await expectBackOnTheGrid(keys.keyState('periodic:job'), before);
  });
});
