import { TaskCancelledError, TaskSupersededError } from '../../lib';
import { partitioned, usePartitionApps } from '../partitions/partition-apps';

/**
 * Review finding: README says result() "rejects with ... TaskCancelledError when its key was
 * cancelled". Asked again once the key had a newer run, it said superseded: the key state named
 * the newer task, and nothing remembered which one was cancelled.
 */
describe('result() of a cancelled keyed task, asked after its key was used again', () => {
  const apps = usePartitionApps();

  it('still rejects with TaskCancelledError after cancel() and a new enqueue of the key', async () => {
    const producer = await apps.start(partitioned(4, { worker: false }));
    const first = await producer.client.enqueue('echo', 'first', { key: 'k' });
    expect(await producer.client.cancel('k')).toBe(true);
    await expect(first.result({ timeoutMs: 1_000 })).rejects.toBeInstanceOf(TaskCancelledError);
    await producer.client.enqueue('echo', 'second', { key: 'k' });
    await expect(first.result({ timeoutMs: 1_000 })).rejects.toBeInstanceOf(TaskCancelledError);
  });

  it('still rejects with TaskCancelledError after remove() and a new enqueue of the key', async () => {
    const producer = await apps.start(partitioned(1, { worker: false }));
    const first = await producer.client.enqueue('echo', 'first', { key: 'k' });
    await producer.client.remove(first.id);
    await producer.client.enqueue('echo', 'second', { key: 'k' });
    await expect(first.result({ timeoutMs: 1_000 })).rejects.toBeInstanceOf(TaskCancelledError);
  });

  it('says superseded for a task replaced, not cancelled', async () => {
    const producer = await apps.start(partitioned(1, { worker: false }));
    const first = await producer.client.enqueue('echo', 'first', { key: 'k' });
    await producer.client.replace('echo', 'second', { key: 'k' });
    await expect(first.result({ timeoutMs: 1_000 })).rejects.toBeInstanceOf(TaskSupersededError);
  });
});
