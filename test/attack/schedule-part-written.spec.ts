import type { Redis } from 'ioredis';
import { QueueKeys } from '../../lib/redis/keys';
import { defineScripts } from '../../lib/redis/scripts';
import { schedulePeriodicScript } from '../../lib/scripts/schedule-periodic.script';
import { useAclRedis } from '../fixtures/acl-redis';
import { expectRefusedWritingNothing } from '../fixtures/keyed-writes';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp } from '../fixtures/test-app';
import { createRedis, randomPrefix } from '../utils/redis';

/** A replace() of `@Task` periodic task 'job' (schedule-periodic.lua, mode replace), due in `delayMs`. */
const replacePeriodic = (redis: Redis, keys: QueueKeys, delayMs: number) => {
  defineScripts(redis);
  return schedulePeriodicScript(keys, {
    mode: 'replace',
    name: 'job',
    queue: 'default',
    payload: '"x"',
    schedule: { every: 3_600_000 },
    runAt: 0,
    delayMs,
  }).run(redis);
};

/**
 * Attack on the scripts that put a chain's first run in place: schedule-runtime.lua
 * (schedule()) and schedule-periodic.lua (a `@Task` periodic task's boot, restore and replace()).
 * They stored the schedule in the key's state, removed the key's waiting run (ZREM, XDEL), drew
 * a generation and wrote the first run (ZADD, then XADD when due now), told the workers 'due'
 * after the ZADD, told the old run's waiters and worker after that, and schedule() added the
 * key to the schedule index last. Redis does not roll a script back: a schedule index or delayed
 * set of another type (anyone with Redis access can make one) or a channel an ACL refuses failed
 * the call after those writes, the caller told only of an error: a new schedule's chain ran, out
 * of the index (schedules() did not list it, unschedule() said it was none); a re-timing stored
 * the new period, so the same schedule() again found it live and left the run on the old one;
 * a periodic replace() lost the queued run or wrote its own. Now every refusal comes first.
 */
describe('attack: a schedule refused after its first write', () => {
  const env = useProbeApps();

  it('schedule() of a new key, the schedule index of another type: nothing written', async () => {
    const t = await startApp({ prefix: env.prefix, options: { worker: false } });
    await env.redis.set(t.keys.schedules, 'x');
    await expectRefusedWritingNothing(env.redis, t.keys, 'k', /^WRONGTYPE/, () =>
      t.client.schedule('echo', 'tick', { key: 'k', every: '1h' }),
    );
  });

  it('schedule() re-timing a schedule, the delayed set of another type: nothing written', async () => {
    const t = await startApp({ prefix: env.prefix, options: { worker: false } });
    await t.client.schedule('echo', 'tick', { key: 'k', every: '1h' });
    await env.redis.rename(t.keys.delayed, `${t.keys.delayed}:aside`);
    await env.redis.set(t.keys.delayed, 'x');
    await expectRefusedWritingNothing(env.redis, t.keys, 'k', /^WRONGTYPE/, () =>
      t.client.schedule('echo', 'tick', { key: 'k', every: '2h' }),
    );
  });

  it("replace() of a periodic task's queued run, the delayed set of another type: the run stays", async () => {
    const keys = new QueueKeys(env.prefix, 'default');
    await replacePeriodic(env.redis, keys, 0);
    await env.redis.set(keys.delayed, 'x');
    await expectRefusedWritingNothing(env.redis, keys, 'periodic:job', /WRONGTYPE/, () =>
      replacePeriodic(env.redis, keys, 60_000),
    );
  });
});

describe('attack: a schedule whose notice an ACL refuses', () => {
  const acl = useAclRedis('schedule-part-written');

  it("schedule() of a new key, the control channel refused after the first run's write: nothing written", async () => {
    const prefix = randomPrefix();
    const admin = createRedis({}, acl.url());
    const t = await acl.producerWithoutChannels(prefix);
    await expectRefusedWritingNothing(admin, t.keys, 'k', /can't publish to the channel/, () =>
      t.client.schedule('echo', 'tick', { key: 'k', every: '1h' }),
    );
  });

  it("replace() of a periodic task's delayed run, the control channel refused after its write: the run stays", async () => {
    const admin = createRedis({}, acl.url());
    const keys = new QueueKeys(randomPrefix(), 'default');
    await replacePeriodic(admin, keys, 60_000);
    const producer = createRedis({}, await acl.userWithoutChannels('producer'));
    await expectRefusedWritingNothing(admin, keys, 'periodic:job', /can't publish to the channel/, () =>
      replacePeriodic(producer, keys, 30_000),
    );
  });
});
