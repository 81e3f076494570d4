import type { StoredResult } from '../../lib/task/task-outcome';
import { Probe } from '../fixtures/probe';
import { Latch, sleep } from '../utils/helpers';
import { closeApps, startApp } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, subscriberCount, waitFor } from '../utils/redis';

const consumerOf = (fencingToken: string) => fencingToken.slice(fencingToken.indexOf('/') + 1);

// app.close(): stop reading, let in-flight handlers finish, abandon them at the deadline.
describe('shutdown', () => {
  const prefix = randomPrefix();
  const redis = createRedis();

  afterEach(async () => {
    await closeApps();
    await cleanupPrefix(redis, prefix);
  });
  afterAll(closeAll);

  it('app.close() waits for a blocked in-flight handler, then stores its result and acks it', async () => {
    const t = await startApp({ prefix, options: { shutdownTimeoutMs: 10_000 } });
    const latch = new Latch();
    t.probe.on('once', async () => {
      await latch.wait();
      return 'finished during shutdown';
    });
    const handle = await t.client.enqueue('once', null);
    await waitFor(() => t.probe.runs.length === 1, { description: 'handler running' });

    let closed = false;
    const closing = t.close().then(() => (closed = true));
    await sleep(300);
    expect(closed).toBe(false);
    latch.open();
    await closing;

    const stored = JSON.parse((await redis.get(t.keys.result(handle.id))) ?? 'null') as StoredResult | null;
    expect(stored).toEqual({ ok: true, value: 'finished during shutdown' });
    await expect(redis.xlen(t.keys.stream)).resolves.toBe(0);
    expect(((await redis.xpending(t.keys.stream, 'workers')) as unknown[])[0]).toBe(0);
  });

  it('at shutdownTimeoutMs aborts a handler that never finishes, leaves its message pending, and another instance reclaims it', async () => {
    const first = await startApp({ prefix, options: { shutdownTimeoutMs: 300 } });
    let abortReason: unknown;
    first.probe.on('once', (_p, ctx) => {
      ctx.signal.addEventListener('abort', () => (abortReason = ctx.signal.reason));
      return new Promise(() => undefined);
    });
    const handle = await first.client.enqueue('once', 'survivor');
    await waitFor(() => first.probe.runs.length === 1, { description: 'handler running' });
    const firstConsumer = consumerOf(first.probe.runs[0].ctx.fencingToken);

    await first.close();

    expect(abortReason).toMatchObject({ code: 'SHUTDOWN' });
    // Neither settled nor dead-lettered: still pending under the closed worker.
    const pending = (await redis.xpending(first.keys.stream, 'workers', '-', '+', 10)) as [
      string,
      string,
      number,
      number,
    ][];
    expect(pending.map(([, owner]) => owner)).toEqual([firstConsumer]);
    await expect(redis.exists(first.keys.result(handle.id), first.keys.deadLetter)).resolves.toBe(0);

    const second = await startApp({ prefix, probe: new Probe() });
    const raw = await waitFor(() => redis.get(second.keys.result(handle.id)), {
      description: 'result from the second instance',
    });

    expect(JSON.parse(raw) as StoredResult).toEqual({ ok: true, value: 'survivor' });
    const [run] = second.probe.runs;
    expect(run.ctx).toMatchObject({ id: handle.id, attempt: 1 });
    expect(consumerOf(run.ctx.fencingToken)).not.toBe(firstConsumer);
    expect(second.events.counters().reclaimed).toBe(1);
    await expect(redis.xlen(second.keys.deadLetter)).resolves.toBe(0);
  });

  it('app.close() settles a pending result() wait instead of leaving its timer running', async () => {
    const producer = await startApp({ prefix, options: { worker: false } });
    const handle = await producer.client.enqueue('echo', 'never run');
    let outcome: 'pending' | 'resolved' | 'rejected' = 'pending';
    const waiting = handle.result({ timeoutMs: 3_000 }).then(
      () => (outcome = 'resolved'),
      () => (outcome = 'rejected'),
    );
    await waitFor(
      async () => {
        const subscribers = await subscriberCount(redis, producer.keys.doneChannel);
        return subscribers >= 1;
      },
      { description: 'result() subscribed' },
    );

    await producer.close();
    await new Promise((resolve) => setImmediate(resolve));

    // Its connections are gone, so nothing can ever resolve it: a pending wait would only hold
    // the process open until its own timeout.
    expect(outcome).toBe('rejected');
    await waiting;
  });
});
