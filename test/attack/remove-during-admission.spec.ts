import { FleetReads } from '../../lib/client/fleet-reads';
import { hookCommands } from '../fixtures/command-hooks';
import { useProbeApps } from '../fixtures/probe-apps';
import { ledger, outcomeOf, RemovalTasksModule } from '../fixtures/removal-tasks';
import { startApp, type TestApp } from '../fixtures/test-app';
import { waitFor } from '../utils/helpers';

/**
 * A flow task moves between the listings while remove(id) (and findTask(id), the same locate)
 * reads them: a page of 'queued' reads the stream (XRANGE) and the waiting room (ZRANGEBYLEX) in
 * two commands, and the delayed set is another listing. A waiting task admitted room -> stream
 * between two reads, or a retry promoted delayed -> room, was in none of them: TaskNotFoundError,
 * and the task ran at resume although the operator removed it.
 *
 * Each interleaving is forced on the removal's own connection (the code path of client.remove):
 * its room or delayed reads wait until the settle or promotion has moved the task. The queue is
 * paused, so an admitted task stays unread in the stream (admission goes on while paused).
 */
describe('remove() of a flow task that moves between the listings', () => {
  const env = useProbeApps();
  beforeEach(() => ledger.reset());
  afterEach(() => ledger.gate.open());

  const app = () => startApp({ prefix: env.prefix, imports: [RemovalTasksModule], options: { concurrency: 4 } });
  /** Flow control's record of the task: waiting in the room ('\0...'), holding its slot, or none. */
  const flowState = async (a: TestApp, id: string) => {
    const record = await env.redis.hget(a.keys.flow.tasks, id);
    return record === null ? 'none' : record.startsWith('\0') ? 'waiting' : 'admitted';
  };
  const queuedIds = async (a: TestApp) => (await a.client.list('queued')).tasks.map((t) => t.id);

  it('a waiting task admitted while its room member is read is removed', async () => {
    const a = await app();
    const blocker = await a.client.enqueue('removal.one', { block: true });
    await waitFor(() => ledger.starts.length === 1);
    await a.client.pause('default');
    const target = await a.client.enqueue('removal.one', { target: true });
    expect(await flowState(a, target.id)).toBe('waiting');

    const { proxy, hooks } = hookCommands({ zrangebylex: { held: true } });
    const removal = outcomeOf(new FleetReads(proxy, () => [a.keys], 60_000).remove(target.id));
    await hooks.zrangebylex.reached.wait(); // the task is still in the room
    ledger.gate.open(); // the blocker settles: its release admits the target (unread: paused)
    await blocker.result({ timeoutMs: 10_000 });
    await waitFor(async () => (await flowState(a, target.id)) === 'admitted');
    hooks.zrangebylex.release.open();

    expect(await removal).toEqual({ resolved: undefined });
    expect(await queuedIds(a)).not.toContain(target.id);
    expect(await flowState(a, target.id)).toBe('none'); // its slot given back
  });

  /** A retry of 1.5 s that waits in the room once due: a blocker took the slot its failure freed. */
  async function delayedRetry(a: TestApp): Promise<string> {
    const retried = await a.client.enqueue('removal.retry-slow', { wait: 't1', fail: true });
    await waitFor(() => ledger.starts.length === 1);
    await a.client.enqueue('removal.retry-slow', { wait: 'blocker' });
    ledger.latch('t1').open();
    await waitFor(async () => (await a.client.counts()).delayed === 1);
    return retried.id;
  }

  it('a flow retry promoted into the room while the delayed set is read is removed', async () => {
    const a = await app();
    const retried = await delayedRetry(a);

    const { proxy, hooks } = hookCommands({ zrange: { held: true } });
    const removal = outcomeOf(new FleetReads(proxy, () => [a.keys], 60_000).remove(retried));
    await hooks.zrange.reached.wait(); // the delayed listing's read waits
    await waitFor(async () => (await flowState(a, retried)) === 'waiting', { timeoutMs: 10_000 });
    hooks.zrange.release.open();

    expect(await removal).toEqual({ resolved: undefined });
    expect(await flowState(a, retried)).toBe('none');
    ledger.latch('blocker').open();
  });

  it('a flow retry promoted, then admitted while the listings read, is removed', async () => {
    const a = await app();
    const retried = await delayedRetry(a);
    await a.client.pause('default');

    const held = { zrange: { held: true }, zrangebylex: { held: true } };
    const { proxy, hooks } = hookCommands(held);
    const removal = outcomeOf(new FleetReads(proxy, () => [a.keys], 60_000).remove(retried));
    await waitFor(async () => (await flowState(a, retried)) === 'waiting', { timeoutMs: 10_000 });
    hooks.zrange.release.open(); // the delayed set no longer holds it
    await hooks.zrangebylex.reached.wait(); // the stream part of the queued page is read
    ledger.latch('blocker').open(); // the blocker settles: its release admits the retry (unread: paused)
    await waitFor(async () => (await flowState(a, retried)) === 'admitted');
    hooks.zrangebylex.release.open(); // the room no longer holds it

    expect(await removal).toEqual({ resolved: undefined });
    expect(await queuedIds(a)).not.toContain(retried);
    expect(await flowState(a, retried)).toBe('none');
  });
});
