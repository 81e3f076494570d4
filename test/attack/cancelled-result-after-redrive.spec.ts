import { TaskCancelledError, TaskFailedError } from '../../lib';
import { partitioned, usePartitionApps } from '../partitions/partition-apps';

/**
 * Review: the key state's xid names the task its key's last cancel ended, so that task's
 * result() still says cancelled once the key holds a newer run. redrive.lua dropped it whenever
 * it redrove any task of the key: a later task of that key dead-lettered and redriven made the
 * cancelled one read superseded (README: it "still says so for the task the key's last cancel
 * ended").
 */
describe('result() of a cancelled keyed task, after another task of its key is redriven', () => {
  const apps = usePartitionApps();

  it('still rejects with TaskCancelledError', async () => {
    apps.probe.on('once', () => {
      throw new Error('boom');
    });
    const app = await apps.start(partitioned(1));
    const { client } = app;
    const first = await client.enqueue('echo', 'first', { key: 'k', delayMs: 60_000 });
    expect(await client.cancel('k')).toBe(true);
    const second = await client.enqueue('once', 'second', { key: 'k' });
    await expect(second.result({ timeoutMs: 5_000 })).rejects.toBeInstanceOf(TaskFailedError);
    const [dead] = (await client.list('dead')).tasks;
    expect(dead.id).toBe(second.id);
    await expect(first.result({ timeoutMs: 1_000 })).rejects.toBeInstanceOf(TaskCancelledError);
    await client.redrive(dead.deadLetterId!);
    await expect(second.result({ timeoutMs: 5_000 })).rejects.toBeInstanceOf(TaskFailedError);
    await expect(first.result({ timeoutMs: 1_000 })).rejects.toBeInstanceOf(TaskCancelledError);
  });
});
