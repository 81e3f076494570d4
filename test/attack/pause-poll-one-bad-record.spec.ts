import { QueueKeys } from '../../lib/redis/keys';
import { ManyQueuesModule, queueName, taskName } from '../fixtures/many-queues.module';
import { usePartitionApps } from '../partitions/partition-apps';
import { sleep } from '../utils/helpers';
import { waitFor } from '../utils/redis';

const HEARTBEAT_MS = 200;

/**
 * Attack on the pause poll (PauseWatch): the poll that catches a lost notice read every queue's
 * records in one pipeline and failed as a whole on any one error. One queue's pause record that is
 * not a hash (an operator's `SET <prefix>:pause 1`; on a cluster, the node of one queue down) then
 * stopped the poll of every queue of the worker, so a pause of another queue whose notice was lost
 * never took effect there: its runs went on starting, with no bound.
 */
describe('attack: one unreadable pause record disables the poll of every queue', () => {
  const apps = usePartitionApps();
  const { redis } = apps;

  it("a lost notice of queue 'default' is still caught by the poll while queue q0's record is not a hash", async () => {
    const starts: number[] = [];
    apps.probe.on('echo', async (payload) => {
      starts.push(performance.now());
      await sleep(5);
      return payload;
    });
    const worker = await apps.start({ heartbeatIntervalMs: HEARTBEAT_MS, concurrency: 4 }, [
      ManyQueuesModule.register(1, apps.probe),
    ]);
    // After the boot (whose first poll refuses a record it cannot read): the worker runs on.
    const bad = new QueueKeys(apps.prefix, queueName(0)).pause;
    await redis.set(bad, '1');
    await worker.client.enqueueMany(Array.from({ length: 3_000 }, (_, i) => ({ name: 'echo', payload: i })));
    await waitFor(() => starts.length > 20, { description: 'short runs flowing' });

    // The record pause() writes, without its notice on the control channel (a notice lost).
    await redis.hset(apps.partitions(1).keysFor(0).pause, 'paused', '1', 'version', String(Date.now()));
    const writtenAt = performance.now();
    await sleep(6 * HEARTBEAT_MS);
    const after = starts.filter((t) => t > writtenAt);
    const lastLagMs = Math.max(0, ...after.map((t) => t - writtenAt));
    console.log(
      `pause beside a bad record: ${after.length} start(s) after the write, last +${lastLagMs.toFixed(1)} ms`,
    );
    // One interval, plus the poll's round trip and timer lateness, which a loaded machine stretches
    // (181 ms of 200 seen): half an interval more. A worker whose poll fails starts runs through
    // the whole 6-interval watch.
    expect(lastLagMs).toBeLessThanOrEqual(1.5 * HEARTBEAT_MS + 100);

    // Queue q0 keeps the state it had (not paused): its tasks still run.
    const handle = await worker.client.enqueue(taskName(0), 'q0 runs');
    await expect(handle.result({ timeoutMs: 5_000 })).resolves.toBe('q0 runs');
  });
});
