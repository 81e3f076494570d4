import { useAclRedis } from '../fixtures/acl-redis';
import {
  expectQueuedRunKeptWhenNoticeRefused,
  expectRefusedWritingNothing,
  expectRunningRunKeptWhenNoticeRefused,
  runningKeyed as running,
} from '../fixtures/keyed-writes';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp } from '../fixtures/test-app';
import { Latch } from '../utils/latch';

/**
 * Attack on enqueue.lua's keyed path (enqueue(), replace()): it removed or fenced the key's older
 * run (ZREM or XDEL, PUBLISH 's:<id>'), drew a generation and cleared the state's message fields
 * before it wrote the new run (ZADD or XADD) and told a running run's worker
 * ('superseded:<gen>:<key>', after every write). Redis does not roll a script back: a delayed set
 * or stream of another type (anyone with Redis access can make one) or a channel an ACL refuses
 * failed the call after those writes, so the caller was told only of an error while the key's
 * run was lost (its message deleted, its state naming it 'queued' with no message) or fenced
 * (its generation passed), or the new run was written though the call was rejected. Now every
 * refusal comes before the key's run, its state and the new run are touched.
 */
describe('attack: a keyed enqueue refused after its first write', () => {
  const env = useProbeApps();

  it('replace() with a delay over a queued run, the delayed set of another type: the queued run stays and runs', async () => {
    const t = await startApp({ prefix: env.prefix, options: { worker: false } });
    const old = await t.client.enqueue('echo', 'old', { key: 'k' });
    await env.redis.set(t.keys.delayed, 'x');
    await expectRefusedWritingNothing(env.redis, t.keys, 'k', /^WRONGTYPE/, () =>
      t.client.replace('echo', 'new', { key: 'k', delayMs: 60_000 }),
    );
    await env.redis.del(t.keys.delayed);
    await startApp({ prefix: env.prefix });
    await expect(old.result({ timeoutMs: 5_000 })).resolves.toBe('old');
  });

  it('replace() due now over a delayed run, the stream of another type: the delayed run stays', async () => {
    const t = await startApp({ prefix: env.prefix, options: { worker: false } });
    const old = await t.client.enqueue('echo', 'old', { key: 'k', delayMs: 60_000 });
    await env.redis.set(t.keys.stream, 'x');
    await expectRefusedWritingNothing(env.redis, t.keys, 'k', /^WRONGTYPE/, () =>
      t.client.replace('echo', 'new', { key: 'k' }),
    );
    await env.redis.del(t.keys.stream);
    await expect(t.client.status('k')).resolves.toMatchObject({ id: old.id, state: 'delayed' });
  });

  it('replace() due now over a running run, the stream of another type: the running run is not fenced', async () => {
    const gate = new Latch();
    const worker = await running(env.prefix, gate);
    const run = worker.probe.runsOf('echo')[0].ctx;
    // The stream (its group and the run's delivery) is set aside while the call meets a string.
    await env.redis.rename(worker.keys.stream, `${worker.keys.stream}:aside`);
    await env.redis.set(worker.keys.stream, 'x');
    await expectRefusedWritingNothing(env.redis, worker.keys, 'k', /^WRONGTYPE/, () =>
      worker.client.replace('echo', 'new', { key: 'k' }),
    );
    await env.redis.rename(`${worker.keys.stream}:aside`, worker.keys.stream);
    expect(run.signal.aborted).toBe(false);
    gate.open();
    await expect(
      worker.client.handle(run.id, { key: 'k', name: 'echo', generation: run.generation }).result({ timeoutMs: 5_000 }),
    ).resolves.toBe('block');
  });
});

describe('attack: a keyed enqueue whose notice an ACL refuses', () => {
  const acl = useAclRedis('keyed-enqueue-part-written');

  it("replace() over a queued run, the done channel refused after the old run's XDEL: the queued run stays", async () => {
    await expectQueuedRunKeptWhenNoticeRefused(acl, (t) =>
      t.client.replace('echo', 'new', { key: 'k', delayMs: 60_000 }),
    );
  });

  it('replace() over a running run, the control channel refused after every write: nothing written', async () => {
    await expectRunningRunKeptWhenNoticeRefused(acl, (t) => t.client.replace('echo', 'new', { key: 'k' }));
  });
});
