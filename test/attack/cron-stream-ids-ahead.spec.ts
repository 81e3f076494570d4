import { periodicKey } from '../../lib';
import { Probe } from '../fixtures/probe';
import { redisNowMs } from '../fixtures/periodic-successor';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp } from '../fixtures/test-app';
import { ScheduleVersionModule, TickCron2s } from '../generations/schedule-versions';
import { QueueKeys } from '../../lib/redis/keys';
import { waitFor } from '../utils/redis';

const MINUTES_AHEAD = 10 * 60_000;

/**
 * Review finding: a cron run's settling worker computed its successor's fire times after the run's
 * slot or after the time of its stream entry id, whichever was later ("the fleet was down"). But
 * an entry id is no clock reading: Redis keeps a stream's ids increasing, so once its clock went
 * back (a failover to a replica whose clock is behind, a restart after an NTP step back) every
 * `XADD *` takes the stream's last id's time, ahead of Redis's clock by the step. The run's
 * successor was then the first fire time after that: a chain firing every 2 seconds skipped every
 * slot of the 10 minutes its stream's ids were ahead, silently. (An `every` chain is timed from
 * its slot alone and kept its pace.) Here the stream's last id is set 10 minutes ahead with
 * XSETID, as such a step leaves it.
 */
describe('attack: a cron chain on a stream whose ids are ahead of Redis clock', () => {
  const env = useProbeApps();
  const { redis } = env;

  it('its next run follows the cron on Redis clock, not the entry ids', async () => {
    const keys = new QueueKeys(env.prefix, 'default');
    // The stream as a clock stepped back 10 minutes leaves it: its last id ahead of Redis's time.
    const ahead = (await redisNowMs(redis)) + MINUTES_AHEAD;
    await redis.xadd(keys.stream, `${ahead}-0`, 'x', 'y');
    await redis.xdel(keys.stream, `${ahead}-0`);
    const probe = new Probe();
    const worker = await startApp({
      prefix: env.prefix,
      probe,
      imports: [ScheduleVersionModule.register(probe, TickCron2s)],
    });
    const keyState = worker.keys.keyState(periodicKey('tick'));
    await waitFor(() => probe.runsOf('tick').length === 1, { timeoutMs: 5_000, description: 'the first run' });
    const first = probe.runsOf('tick')[0].ctx.id;
    await waitFor(
      async () => {
        const [state, id] = await redis.hmget(keyState, 'state', 'id');
        return state === 'delayed' && id !== first;
      },
      { description: 'its successor is scheduled' },
    );
    const due = Number(await redis.hget(keyState, 'dueAt'));
    const now = await redisNowMs(redis);
    expect(due - now).toBeLessThanOrEqual(2_000);
    expect(due % 2_000).toBe(0);
  });
});
