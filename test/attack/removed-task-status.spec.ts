import { TaskCancelledError } from '../../lib';
import { useProbeApps } from '../fixtures/probe-apps';
import { ledger, outcomeOf, RemovalTasksModule } from '../fixtures/removal-tasks';
import { startApp } from '../fixtures/test-app';
import { waitFor } from '../utils/helpers';

/**
 * What a handle says of an unkeyed task after remove(). remove-task.lua told the done channel
 * 'x:<id>' (a result() waiting at that instant rejected TaskCancelledError) but stored nothing,
 * and deleted a retry's pending marker, so a later status()/result() inferred from what was left:
 * a task that waited from its enqueue has no entry id in its handle, 'pending' for ever and
 * result() timed out; a task admitted at once whose retry then waited lost its first entry, so it
 * read 'completed', and result() resolved undefined for a run that never produced its value.
 */
describe('status() and result() of a removed unkeyed task', () => {
  const env = useProbeApps();
  beforeEach(() => ledger.reset());

  it('a removed waiting flow task reads as cancelled, the same answer the waiter got', async () => {
    const a = await startApp({ prefix: env.prefix, imports: [RemovalTasksModule], options: { concurrency: 4 } });
    // retried: admitted at once (its handle knows its first entry), fails its first attempt while a
    // blocker waits; the blocker takes the freed slot, so the retry waits in the room when due.
    const retried = await a.client.enqueue('removal.retry', { wait: 't1', fail: true, value: 42 });
    await waitFor(() => ledger.starts.length === 1);
    await a.client.enqueue('removal.retry', { wait: 'blocker' });
    // waited: enqueued while the slot is held; its handle knows no entry.
    const waited = await a.client.enqueue('removal.retry', { value: 7 });
    ledger.latch('t1').open();
    await waitFor(async () => (await a.client.counts()).waitingForSlot === 2);
    const listening = outcomeOf(retried.result({ timeoutMs: 5_000 }));

    await a.client.remove(retried.id);
    await a.client.remove(waited.id);

    const after = {
      listening: await listening,
      retried: {
        status: (await retried.status())?.state,
        result: await outcomeOf(retried.result({ timeoutMs: 1_000 })),
      },
      waited: { status: (await waited.status())?.state, result: await outcomeOf(waited.result({ timeoutMs: 1_000 })) },
    };
    ledger.latch('blocker').open();
    const cancelled = { rejected: TaskCancelledError.name };
    expect(after).toEqual({
      listening: cancelled,
      retried: { status: 'cancelled', result: cancelled },
      waited: { status: 'cancelled', result: cancelled },
    });
    // The record lives as long as a result would, then goes.
    const ttl = await env.redis.pttl(a.keys.result(waited.id));
    expect(ttl).toBeGreaterThan(0);
  });

  it('with resultTtlMs 0 a removal stores nothing, and clears a retry pending marker', async () => {
    const a = await startApp({
      prefix: env.prefix,
      imports: [RemovalTasksModule],
      options: { concurrency: 4, resultTtlMs: 0 },
    });
    const retried = await a.client.enqueue('removal.retry', { wait: 't1', fail: true });
    await waitFor(() => ledger.starts.length === 1);
    await a.client.enqueue('removal.retry', { wait: 'blocker' });
    const waited = await a.client.enqueue('removal.retry', {});
    ledger.latch('t1').open();
    await waitFor(async () => (await a.client.counts()).waitingForSlot === 2);

    await a.client.remove(retried.id);
    await a.client.remove(waited.id);
    const stored = await env.redis.mget(a.keys.result(retried.id), a.keys.result(waited.id));
    ledger.latch('blocker').open();
    expect(stored).toEqual([null, null]);
  });
});
