import { LeaseLostError, StreamQueueError } from '../../lib';
import { Delivery } from '../../lib/consumer/delivery';
import { ShutdownAbortError } from '../../lib/errors/shutdown-abort.error';
import { ALWAYS_HELD, type Lease } from '../../lib/consumer/lease';
import { TaskRunner } from '../../lib/consumer/task-runner';
import { TaskRegistry } from '../../lib/task/task.registry';
import { resolveTaskOptions } from '../../lib/task/resolved-task-options';
import type { TaskMessage } from '../../lib/task/task-message';

const message: TaskMessage = {
  entryId: '1-0',
  id: 't1',
  name: 'job',
  payload: '{}',
  attempt: 1,
  key: 'k',
  generation: 1,
  dueAt: undefined,
  keepResult: false,
  trace: undefined,
};

const NOT_HELD: Lease = { isHeld: () => false, heldSince: () => Infinity, livenessSince: () => undefined };

function runnerWith(
  handler: (payload: unknown, ctx: { signal: AbortSignal }) => unknown,
  lease: Lease = ALWAYS_HELD,
): TaskRunner {
  const registry = new TaskRegistry();
  registry.add({
    name: 'job',
    location: 'Spec.job',
    options: resolveTaskOptions('job', {}, 1_000),
    handler: handler as never,
  });
  return new TaskRunner(registry, 'default', 'me', lease);
}

describe('TaskRunner and aborts', () => {
  it('never starts a run aborted while it waited for a slot', async () => {
    const handler = jest.fn();
    const delivery = new Delivery(message);
    delivery.abort(new StreamQueueError('SUPERSEDED', 'superseded'));
    const outcome = await runnerWith(handler).run(delivery);
    expect(handler).not.toHaveBeenCalled();
    expect(outcome).toMatchObject({ kind: 'failed', error: { message: 'superseded' } });
  });

  it('a shutdown abort leaves the run to be reclaimed', async () => {
    const delivery = new Delivery(message);
    delivery.abort(new ShutdownAbortError(10));
    expect(await runnerWith(() => 1).run(delivery)).toMatchObject({ kind: 'abandoned' });
  });

  it('no run starts while the lease is unconfirmed, and the run is left pending: no attempt is spent', async () => {
    const handler = jest.fn();
    const outcome = await runnerWith(handler, NOT_HELD).run(new Delivery(message));
    expect(handler).not.toHaveBeenCalled();
    expect(outcome).toMatchObject({ kind: 'abandoned' });
  });

  it('no run starts when the lease broke after Redis handed it over, even if it is held again', async () => {
    // Issue 9, hole 1: a read reply delayed past a lapse arrives once the lease is back.
    const handler = jest.fn();
    const relapsed: Lease = { isHeld: () => true, heldSince: () => 2_000, livenessSince: () => undefined };
    const outcome = await runnerWith(handler, relapsed).run(new Delivery(message, 1_000));
    expect(handler).not.toHaveBeenCalled();
    expect(outcome).toMatchObject({ kind: 'abandoned' });
    // Handed over after the lease's unbroken stretch began: it runs.
    expect(await runnerWith(() => 'ok', relapsed).run(new Delivery(message, 2_001))).toMatchObject({
      kind: 'completed',
    });
  });

  it('a run whose lease was lost while it ran is left pending, not failed', async () => {
    const delivery = new Delivery(message);
    const running = runnerWith(
      (_p, ctx) =>
        new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))),
    ).run(delivery);
    delivery.abort(new LeaseLostError('lease lost'));
    expect(await running).toMatchObject({ kind: 'abandoned' });
  });

  /** Runs a handler that finishes 5 ms after its abort (with `reason`), ignoring it. */
  async function finishingAfterAbort(reason: Error) {
    const delivery = new Delivery(message);
    const running = runnerWith(
      (_p, ctx) =>
        new Promise((resolve) => ctx.signal.addEventListener('abort', () => setTimeout(() => resolve('done'), 5))),
    ).run(delivery);
    delivery.abort(reason);
    return running;
  }

  it('a handler that finishes after its lease was lost is settled as completed, for Redis to fence', async () => {
    expect(await finishingAfterAbort(new LeaseLostError('lease lost'))).toMatchObject({
      kind: 'completed',
      result: expect.stringContaining('done'),
    });
  });

  it('a synchronous handler that blocked past a lost lease is settled as completed, for Redis to fence', async () => {
    const delivery = new Delivery(message);
    const outcome = await runnerWith(() => {
      delivery.abort(new LeaseLostError('lease lost')); // what the lease timer does once the loop runs again
      return 'done';
    }).run(delivery);
    expect(outcome).toMatchObject({ kind: 'completed', result: expect.stringContaining('done') });
  });

  it('a handler that finishes after it was superseded is not settled as completed', async () => {
    expect(await finishingAfterAbort(new StreamQueueError('SUPERSEDED', 'superseded'))).toMatchObject({
      kind: 'failed',
      error: { message: 'superseded' },
    });
  });

  it('a handler that rejects after its run was aborted is not an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const delivery = new Delivery(message);
      const running = runnerWith(
        (_p, ctx) =>
          new Promise((_resolve, reject) =>
            ctx.signal.addEventListener('abort', () => setTimeout(() => reject(ctx.signal.reason), 5)),
          ),
      ).run(delivery);
      delivery.abort(new StreamQueueError('CANCELLED', 'cancelled'));
      expect(await running).toMatchObject({ kind: 'failed', error: { message: 'cancelled' } });
      // And an already aborted race still subscribes to the work it was given.
      const late = Promise.reject(new Error('late'));
      await expect(delivery.settleWith(late)).rejects.toMatchObject({ code: 'CANCELLED' });
      await new Promise((r) => setTimeout(r, 30));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('an aborted run is settled when its handler stops, not before (so a key is not released under it)', async () => {
    const delivery = new Delivery(message);
    let stoppedAt = 0;
    const running = runnerWith(
      (_p, ctx) =>
        new Promise((_resolve, reject) =>
          ctx.signal.addEventListener('abort', () =>
            setTimeout(() => {
              stoppedAt = Date.now();
              reject(ctx.signal.reason);
            }, 50),
          ),
        ),
    ).run(delivery);
    delivery.abort(new StreamQueueError('SUPERSEDED', 'superseded'));
    await running;
    expect(stoppedAt).toBeGreaterThan(0);
    expect(Date.now()).toBeGreaterThanOrEqual(stoppedAt);
  });

  it('a handler that ignores its abort holds its run (and its key) until it returns', async () => {
    const delivery = new Delivery(message);
    let finish!: () => void;
    const running = runnerWith(() => new Promise<void>((resolve) => (finish = resolve))).run(delivery);
    let settled = false;
    void running.then(() => (settled = true));
    delivery.abort(new StreamQueueError('CANCELLED', 'cancelled'));
    // However many turns of the event loop pass, the run is not settled while its handler runs.
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false);
    finish();
    expect(await running).toMatchObject({ kind: 'failed', error: { message: 'cancelled' } });
  });
});
