import { useProbeApps } from '../fixtures/probe-apps';
import { startApp } from '../fixtures/test-app';
import { waitFor } from '../utils/helpers';
import { FlowTasksModule, ledger } from './flow-tasks';

/**
 * The room's entry times (flow:entered) are written by this version's scripts only. During a
 * rolling upgrade, a task that entered the room through a new producer and was admitted by an
 * older worker's settle (which knows nothing of flow:entered) leaves its entry time behind: read
 * as the room's oldest, it made the oldest waiting age grow for ever (the health check down, the
 * gauge climbing) with nothing waiting. An entry time counts only while its task still waits.
 */
describe('the oldest waiting age and entry times an older version left behind', () => {
  const env = useProbeApps();
  beforeEach(() => ledger.reset());

  it('an entry time whose task no longer waits is not an age, and the next entry removes it', async () => {
    const a = await startApp({ prefix: env.prefix, imports: [FlowTasksModule] });
    const [s] = await env.redis.time();
    const hourAgo = Number(s) * 1000 - 3_600_000;
    // What an older worker's admission leaves: the time, with its task gone from the room.
    await env.redis.zadd(a.keys.flow.entered, hourAgo, 'admitted-by-an-older-worker');
    expect((await a.client.counts()).oldestWaitingMs).toBeNull();

    // And a task that does wait is still aged, behind the stale time.
    const blocker = await a.client.enqueue('flow.one', { block: true });
    await waitFor(() => ledger.starts.length === 1);
    await a.client.enqueue('flow.one', { w: 1 });
    const counts = await a.client.counts();
    expect(counts.waitingForSlot).toBe(1);
    expect(counts.oldestWaitingMs).not.toBeNull();
    expect(counts.oldestWaitingMs!).toBeLessThan(60_000);
    // The task that entered took the stale time with it: such times never outlast an upgrade.
    expect(await env.redis.zscore(a.keys.flow.entered, 'admitted-by-an-older-worker')).toBeNull();
    ledger.gate.open();
    await blocker.result();
  });
});
