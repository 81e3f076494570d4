import { TaskCancelledError, TaskSupersededError } from '../../lib';
import { echoBlockedBy } from '../fixtures/probe';
import { Latch } from '../utils/latch';
import { monitorNodeOf, waitFor } from '../utils/redis';
import { partitioned, usePartitionApps } from '../partitions/partition-apps';

/**
 * Review finding: a running keyed run that lost its key (cancelled, or replaced) tells its
 * result() waiters how it ended when its stale settle runs, from the key's state at that moment:
 * 'cancelled' said cancelled, anything else superseded. The key may have moved on meanwhile, so
 * the waiter heard the other answer than a result() asked afterwards, which reads the task the
 * key's last cancel ended (xid): cancelled, then the key used again, said superseded; replaced,
 * then the newer run cancelled, said cancelled.
 */
describe('result() waiting on a running keyed run that lost its key, told when it settles', () => {
  const apps = usePartitionApps();

  const start = async () => {
    const gate = new Latch();
    apps.probe.on('echo', echoBlockedBy(gate));
    const app = await apps.start(partitioned(1));
    const first = await app.client.enqueue('echo', 'block', { key: 'k' });
    await waitFor(() => apps.probe.runsOf('echo').length === 1, { description: 'the first run started' });
    // Waiting from now on: its read of the task's state (which names the task) runs while the
    // run is running, so the wait reads it pending and listens; the rest comes after that read.
    const monitor = await monitorNodeOf(app.keys.stream);
    const read = new Promise<void>((resolve) =>
      monitor.on('monitor', (_time: string, args: string[], source: string) => {
        if (source !== 'lua' && args.includes(first.id)) resolve();
      }),
    );
    const waiting = first.result({ timeoutMs: 10_000 }).catch((error: unknown) => error);
    await read;
    return { app, first, gate, waiting };
  };

  it('cancelled, then its key used again before it settled: cancelled, as result() asked after says', async () => {
    const { app, first, gate, waiting } = await start();
    expect(await app.client.cancel('k')).toBe(true);
    await app.client.enqueue('echo', 'second', { key: 'k' });
    gate.open(); // the handler ignores its abort and returns: its settle is stale
    expect(await waiting).toBeInstanceOf(TaskCancelledError);
    await expect(first.result({ timeoutMs: 1_000 })).rejects.toBeInstanceOf(TaskCancelledError);
  });

  it('replaced, then the newer run cancelled before it settled: superseded, as result() asked after says', async () => {
    const { app, first, gate, waiting } = await start();
    const second = await app.client.replace('echo', 'second', { key: 'k' });
    expect(await app.client.cancel('k')).toBe(true);
    await expect(second.result({ timeoutMs: 1_000 })).rejects.toBeInstanceOf(TaskCancelledError);
    gate.open();
    expect(await waiting).toBeInstanceOf(TaskSupersededError);
    await expect(first.result({ timeoutMs: 1_000 })).rejects.toBeInstanceOf(TaskSupersededError);
  });
});
