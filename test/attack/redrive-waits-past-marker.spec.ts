import { TaskFailedError, TaskTimeoutError } from '../../lib';
import { startApp } from '../fixtures/test-app';
import { useProbeApps } from '../fixtures/probe-apps';
import { waitFor } from '../utils/helpers';
import { FlowTasksModule, ledger } from '../flow/flow-tasks';

/**
 * An unkeyed task's handle that knows its first stream entry reads the task as completed once
 * that entry is gone and nothing is stored. A redrive (and a retry, and a plain entry moved into
 * admission) leaves a pending marker under its result key to say otherwise, but the marker
 * expires a day later (so a task that vanishes leaves nothing for good): a redriven task under
 * flow control that still waits for its slot a day later (a rate-limited backlog, a slot held by
 * a long run) read completed, and result() resolved at once, though it had not run. Its record
 * in flow:tasks says it waits (then holds its slot, then runs) for as long as it does. The day is
 * stood for by the marker's TTL cut to a millisecond.
 */
describe('attack: a redriven flow task still waiting for its slot after its pending marker expired', () => {
  const env = useProbeApps();
  beforeEach(() => ledger.reset());

  it('reads pending, and result() waits for its run', async () => {
    const a = await startApp({ prefix: env.prefix, imports: [FlowTasksModule] });
    ledger.failing = true;
    const task = await a.client.enqueue('flow.flaky', { fail: true });
    expect(task.toJSON().entryId).toBeDefined(); // admitted at once: its handle knows its entry
    await expect(task.result({ timeoutMs: 10_000 })).rejects.toBeInstanceOf(TaskFailedError);
    ledger.failing = false;
    const blocker = await a.client.enqueue('flow.flaky', { block: true }); // holds the only slot
    await waitFor(() => ledger.starts.length === 2);
    const [dead] = (await a.client.list('dead')).tasks;
    expect(await a.client.redrive(dead.deadLetterId!)).toBe(''); // it waits for the slot
    expect((await task.status())?.state).toBe('pending');

    await env.redis.pexpire(a.keys.result(task.id), 1); // a day later
    await waitFor(async () => (await env.redis.exists(a.keys.result(task.id))) === 0);
    expect((await task.status())?.state).toBe('pending');
    await expect(task.result({ timeoutMs: 300 })).rejects.toBeInstanceOf(TaskTimeoutError);

    ledger.gate.open();
    await blocker.result({ timeoutMs: 10_000 });
    await expect(task.result({ timeoutMs: 10_000 })).resolves.toBeUndefined();
    expect(ledger.starts.map((s) => s.payload)).toEqual([{ fail: true }, { block: true }, { fail: true }]);
    expect((await task.status())?.state).toBe('completed');
  });

  it('admitted at once into a paused queue: reads pending while its entry waits, then completed', async () => {
    const a = await startApp({ prefix: env.prefix, imports: [FlowTasksModule] });
    ledger.failing = true;
    const task = await a.client.enqueue('flow.flaky', { fail: true });
    await expect(task.result({ timeoutMs: 10_000 })).rejects.toBeInstanceOf(TaskFailedError);
    ledger.failing = false;
    await a.client.pause('default'); // the redriven run is read only after the resume
    const [dead] = (await a.client.list('dead')).tasks;
    expect(await a.client.redrive(dead.deadLetterId!)).not.toBe(''); // admitted: it holds the slot

    await env.redis.pexpire(a.keys.result(task.id), 1); // a day later
    await waitFor(async () => (await env.redis.exists(a.keys.result(task.id))) === 0);
    expect((await task.status())?.state).toBe('pending');

    await a.client.resume('default');
    await expect(task.result({ timeoutMs: 10_000 })).resolves.toBeUndefined();
    expect(ledger.starts).toHaveLength(2);
    expect((await task.status())?.state).toBe('completed');
  });
});
