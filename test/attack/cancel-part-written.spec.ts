import { useAclRedis } from '../fixtures/acl-redis';
import {
  expectQueuedRunKeptWhenNoticeRefused,
  expectRefusedWritingNothing,
  expectRunningRunKeptWhenNoticeRefused,
} from '../fixtures/keyed-writes';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp } from '../fixtures/test-app';
import { waitFor } from '../utils/redis';

/**
 * Attack on cancel.lua (cancel(), unschedule()): its first write was the schedule index's ZREM,
 * then the key's stored schedule went, then the run's message (ZREM of the delayed set, XDEL of
 * the stream), then the generation's INCR and the cancelled state, and the notices ('x:<id>' to
 * result() waiters, 'cancelled:<gen>:<key>' to a running run's worker) went last. Redis does not
 * roll a script back: a delayed set, stream or sequence of another type (anyone with Redis
 * access can make one) or a channel an ACL refuses failed the call after those writes, so the
 * caller was told only of an error while the schedule was ended or the run lost, or the run
 * cancelled with its waiters never told, its worker never aborting it, the call's answer never
 * recorded. Now every refusal comes before the key's run, its state and its schedule are touched.
 */
describe('attack: a cancel refused after its first write', () => {
  const env = useProbeApps();

  it('unschedule() of a schedule whose run is delayed, the delayed set of another type: the schedule stays', async () => {
    const t = await startApp({ prefix: env.prefix, options: { worker: false } });
    await t.client.schedule('echo', 'tick', { key: 'k', every: '1h' });
    await env.redis.rename(t.keys.delayed, `${t.keys.delayed}:aside`);
    await env.redis.set(t.keys.delayed, 'x');
    await expectRefusedWritingNothing(env.redis, t.keys, 'k', /^WRONGTYPE/, () => t.client.unschedule('k'));
    await env.redis.rename(`${t.keys.delayed}:aside`, t.keys.delayed);
    expect((await t.client.schedules()).items.map((s) => s.key)).toEqual(['k']);
  });

  it('cancel() of a schedule whose run is queued, the stream of another type: the schedule stays', async () => {
    // A paused worker promotes the run into the stream and reads nothing: it stays queued.
    const t = await startApp({ prefix: env.prefix });
    await t.client.pause('default');
    await t.client.schedule('echo', 'tick', { key: 'k', every: 10 });
    await waitFor(async () => (await t.client.status('k'))?.state === 'queued', { description: 'the run queued' });
    await env.redis.rename(t.keys.stream, `${t.keys.stream}:aside`);
    await env.redis.set(t.keys.stream, 'x');
    await expectRefusedWritingNothing(env.redis, t.keys, 'k', /^WRONGTYPE/, () => t.client.cancel('k'));
    await env.redis.rename(`${t.keys.stream}:aside`, t.keys.stream);
    expect((await t.client.schedules()).items.map((s) => s.key)).toEqual(['k']);
  });

  it('cancel() of a queued run, the sequence not a number: the run stays and runs', async () => {
    const t = await startApp({ prefix: env.prefix, options: { worker: false } });
    const old = await t.client.enqueue('echo', 'old', { key: 'k' });
    const seq = await env.redis.get(t.keys.seq);
    await env.redis.set(t.keys.seq, 'x');
    await expectRefusedWritingNothing(env.redis, t.keys, 'k', /not an integer/, () => t.client.cancel('k'));
    await env.redis.set(t.keys.seq, seq!);
    await startApp({ prefix: env.prefix });
    await expect(old.result({ timeoutMs: 5_000 })).resolves.toBe('old');
  });
});

describe('attack: a cancel whose notice an ACL refuses', () => {
  const acl = useAclRedis('cancel-part-written');

  it('cancel() of a queued run, the done channel refused after the cancel: the run stays and runs', async () => {
    await expectQueuedRunKeptWhenNoticeRefused(acl, (t) => t.client.cancel('k'));
  });

  it('cancel() of a running run, the control channel refused after the cancel: the run is not fenced', async () => {
    await expectRunningRunKeptWhenNoticeRefused(acl, (t) => t.client.cancel('k'));
  });
});
