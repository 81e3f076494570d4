import { startApp, type TestApp } from '../fixtures/test-app';
import { useProbeApps } from '../fixtures/probe-apps';
import { FlowTasksModule, ledger } from '../flow/flow-tasks';
import { startProducer } from '../recovery/producer';
import { waitFor } from '../utils/helpers';

/**
 * A handle that knows a flow task's first stream entry (admitted at its enqueue, or a plain entry
 * a worker moved into admission) reads the task's end from that entry once it is gone, unless a
 * result is stored. A retry, a redrive and the move leave a pending marker ({"ok":null}) in its
 * place, with a TTL of a day (past the retry's due time): a task that waits in the room longer
 * (a rate limit per day, a deep backlog) outlived its marker, and its handle then read
 * 'completed' (result() resolved undefined) while it still waited and had never run. Here the
 * marker's day is made to pass (its TTL cut to 1 ms) while the task waits; the handle must read
 * 'pending', and the task's real end once it runs. Every scenario drains to no flow state.
 */
describe('attack: a flow task waiting in the room past its pending marker', () => {
  const env = useProbeApps();
  beforeEach(() => ledger.reset());
  const app = (): Promise<TestApp> => startApp({ prefix: env.prefix, imports: [FlowTasksModule] });

  /** The task's wait in flow:tasks (its record starts with NUL), then its marker's day passed. */
  const waitsPastMarker = async (a: TestApp, id: string) => {
    await waitFor(async () => (await env.redis.hget(a.keys.flow.tasks, id))?.startsWith('\0') === true);
    expect(await env.redis.get(a.keys.result(id))).toBe('{"ok":null}');
    await env.redis.pexpire(a.keys.result(id), 1);
    await waitFor(async () => (await env.redis.exists(a.keys.result(id))) === 0);
  };

  /** Nothing held or waiting once everything settled. */
  const drained = async (a: TestApp) => {
    expect(await env.redis.hgetall(a.keys.flow.tasks)).toEqual({});
    expect(await env.redis.hgetall(a.keys.flow.count)).toEqual({});
  };

  it('a retry: admitted at once, failed, waiting when due: pending, then completed', async () => {
    const a = await app();
    // Admitted at once (its handle knows its entry); the blocker waits for its slot, takes it when
    // the first attempt fails, and holds it while the retry comes due into the room.
    const retried = await a.client.enqueue('flow.retry', {});
    expect(retried.toJSON().entryId).toBeDefined();
    const blocker = await a.client.enqueue('flow.retry', { block: true });
    await waitsPastMarker(a, retried.id);

    expect((await retried.status())?.state).toBe('pending');

    ledger.gate.open();
    await blocker.result({ timeoutMs: 10_000 });
    await expect(retried.result({ timeoutMs: 10_000 })).resolves.toBeUndefined();
    expect(ledger.starts.filter((s) => s.payload && !(s.payload as { block?: boolean }).block).length).toBe(2);
    expect((await retried.status())?.state).toBe('completed');
    await drained(a);
  });

  it('a redrive: admitted at once, dead-lettered, redriven behind a held slot: pending, then completed', async () => {
    const a = await app();
    ledger.failing = true;
    const task = await a.client.enqueue('flow.flaky', { fail: true });
    expect(task.toJSON().entryId).toBeDefined();
    await waitFor(async () => (await a.client.list('dead')).tasks.length === 1);
    ledger.failing = false;
    const blocker = await a.client.enqueue('flow.flaky', { block: true });
    await waitFor(() => ledger.starts.length === 2);
    const [dead] = (await a.client.list('dead')).tasks;
    expect(await a.client.redrive(dead.deadLetterId!)).toBe(''); // waits for the blocker's slot
    await waitsPastMarker(a, task.id);

    expect((await task.status())?.state).toBe('pending');

    ledger.gate.open();
    await blocker.result({ timeoutMs: 10_000 });
    await waitFor(() => ledger.starts.length === 3);
    await expect(task.result({ timeoutMs: 10_000 })).resolves.toBeUndefined();
    expect((await task.status())?.state).toBe('completed');
    await drained(a);
  });

  it('a plain entry moved into admission by a worker: pending, then completed', async () => {
    const a = await app();
    const producer = await startProducer(env.prefix);
    try {
      const blocker = await producer.client.enqueue('flow.one', { block: true });
      await waitFor(() => ledger.starts.length === 1);
      const moved = await producer.client.enqueue('flow.one', {});
      expect(moved.toJSON().entryId).toBeDefined();
      await waitsPastMarker(a, moved.id);

      expect((await moved.status())?.state).toBe('pending');

      ledger.gate.open();
      await blocker.result({ timeoutMs: 10_000 });
      await waitFor(() => ledger.starts.length === 2);
      await expect(moved.result({ timeoutMs: 10_000 })).resolves.toBeUndefined();
      expect((await moved.status())?.state).toBe('completed');
      await drained(a);
    } finally {
      await producer.app.close();
    }
  });
});
