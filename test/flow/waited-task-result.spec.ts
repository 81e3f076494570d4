import { TaskCancelledError } from '../../lib';
import { startApp, type TestApp } from '../fixtures/test-app';
import { useProbeApps } from '../fixtures/probe-apps';
import { waitFor } from '../utils/helpers';
import { FlowTasksModule, ledger } from './flow-tasks';

/**
 * A task whose enqueue left it waiting for a slot keeps no void result: its handle reads its end
 * from its flow record (flow:tasks), which its settle deletes. It used to keep `{"ok":true}` for
 * resultTtlMs (an hour by default): about 210 bytes and a SET per task, so a busy limited queue
 * held one key per task it ran in the last hour.
 */
describe('the result of a task that waited for a slot', () => {
  const env = useProbeApps();
  beforeEach(() => ledger.reset());
  const app = (): Promise<TestApp> => startApp({ prefix: env.prefix, imports: [FlowTasksModule] });

  it('keeps nothing when void; its handle, and one rebuilt from toJSON(), read it pending, then completed', async () => {
    const a = await app();
    const blocker = await a.client.enqueue('flow.one', { block: true });
    await waitFor(() => ledger.starts.length === 1);
    const waited = await a.client.enqueue('flow.one', {});
    expect(waited.toJSON()).toMatchObject({ waitsForSlot: true });
    expect(waited.toJSON().entryId).toBeUndefined();
    expect((await waited.status())?.state).toBe('pending');
    ledger.gate.open();
    await blocker.result({ timeoutMs: 10_000 });
    await expect(waited.result({ timeoutMs: 10_000 })).resolves.toBeUndefined();
    expect(await env.redis.exists(a.keys.result(waited.id))).toBe(0);
    expect((await waited.status())?.state).toBe('completed');
    const rebuilt = a.client.handle(waited.id, waited.toJSON());
    expect((await rebuilt.status())?.state).toBe('completed');
    await expect(rebuilt.result({ timeoutMs: 1_000 })).resolves.toBeUndefined();
  });

  it('reads pending through a retry that waits out its backoff, then completed', async () => {
    const a = await app();
    const blocker = await a.client.enqueue('flow.retry', { block: true });
    await waitFor(() => ledger.starts.length === 1);
    const waited = await a.client.enqueue('flow.retry', {});
    ledger.gate.open();
    await blocker.result({ timeoutMs: 10_000 });
    await expect(waited.result({ timeoutMs: 10_000 })).resolves.toBeUndefined();
    expect(ledger.starts.filter((s) => !(s.payload as { block?: boolean }).block).map((s) => s.attempt)).toEqual([
      1, 2,
    ]);
    expect((await waited.status())?.state).toBe('completed');
  });

  it('reads cancelled once removed while it waits', async () => {
    const a = await app();
    await a.client.enqueue('flow.one', { block: true });
    await waitFor(() => ledger.starts.length === 1);
    const waited = await a.client.enqueue('flow.one', {});
    await a.client.remove(waited.id);
    await expect(waited.result({ timeoutMs: 1_000 })).rejects.toBeInstanceOf(TaskCancelledError);
    expect((await waited.status())?.state).toBe('cancelled');
    ledger.gate.open();
  });
});
