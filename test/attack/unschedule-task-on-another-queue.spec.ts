import { Injectable } from '@nestjs/common';
import { Task } from '../../lib';
import { QueueKeys } from '../../lib/redis/keys';
import { Probe } from '../fixtures/probe';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp } from '../fixtures/test-app';
import { ScheduleVersionModule } from '../generations/schedule-versions';

@Injectable()
class Reminders {
  @Task('reminder.send', { queue: 'reminders' })
  send(): void {}
}

/**
 * schedule() puts a runtime schedule on its task's queue (`options.queue`, else the queue its
 * `@Task` names), but unschedule(key) without `queue` looked in `default` only: for a task on
 * another queue it answered false and the schedule went on firing, for good (the README's own
 * "when they turn reminders off" call). unschedule() without `queue` now ends the key's schedule
 * on every queue this process knows a task of, and on `default`. A review finding; the spec
 * failed.
 */
describe('attack: unschedule() of a schedule whose task runs on another queue', () => {
  const env = useProbeApps();
  const { redis } = env;

  it('unschedule(key) ends it, as schedule(name, payload, { key }) put it in place', async () => {
    const probe = new Probe();
    const app = await startApp({
      prefix: env.prefix,
      probe,
      options: { worker: false },
      imports: [ScheduleVersionModule.register(probe, Reminders)],
    });
    const keys = new QueueKeys(env.prefix, 'reminders');
    await app.client.schedule('reminder.send', { userId: 1 }, { key: 'reminder:1', cron: '0 9 * * 1' });
    expect(await redis.zrange(keys.schedules, 0, -1)).toEqual(['reminder:1']);

    expect(await app.client.unschedule('reminder:1')).toBe(true);
    expect(await redis.zcard(keys.schedules)).toBe(0);
    expect(await redis.zcard(keys.delayed)).toBe(0);
    expect(await redis.hget(keys.keyState('reminder:1'), 'state')).toBe('cancelled');
    expect(await app.client.unschedule('reminder:1')).toBe(false);
  });

  it('with `queue`, only that queue is looked at', async () => {
    const probe = new Probe();
    const app = await startApp({
      prefix: env.prefix,
      probe,
      options: { worker: false },
      imports: [ScheduleVersionModule.register(probe, Reminders)],
    });
    await app.client.schedule('reminder.send', null, { key: 'reminder:2', every: '1h' });
    expect(await app.client.unschedule('reminder:2', { queue: 'default' })).toBe(false);
    expect(await app.client.unschedule('reminder:2', { queue: 'reminders' })).toBe(true);
  });
});
