import { Injectable } from '@nestjs/common';
import { PartitionLayoutError, Task, TaskCancelledError } from '../../lib';
import { partitionOfKey } from '../../lib/partitions/queue-partitions';
import { QueueKeys } from '../../lib/redis/keys';
import { ScheduleVersionModule } from '../generations/schedule-versions';
import { partitioned, usePartitionApps } from '../partitions/partition-apps';

/** Version 1: `report` on `default`. */
@Injectable()
class ReportOnDefault {
  @Task('report')
  report(): void {}
}

/** Version 2: `report` moved to `reports`; `default` is still looked at (always). */
@Injectable()
class ReportMoved {
  @Task('report', { queue: 'reports' })
  report(): void {}
}

/** Keys in partition 1 of 2 (0 of 1): a process with 1 partition looks for them in the wrong one. */
const [KEY, OTHER] = Array.from({ length: 50 }, (_, i) => `report:${i}`).filter((k) => partitionOfKey(k, 2) === 1);

/**
 * Review finding: unschedule(key) without `queue` looks on `default` and on every queue a task of
 * this process runs on, and threw the first failure once it had tried them all. A process whose
 * count for one of them is stale (another deploy changed `queues.default.partitions`; `default` is
 * looked at even by a process that does not use it) rejected with PartitionLayoutError ('stored
 * with 2 partitions, but this process uses 1') although it had ended the key's schedule on the
 * queue that held it: the caller believed the schedule still in place, and retried forever or
 * alerted; and a schedule on the stale queue itself could not be ended from that process at all.
 * A stale count is now retried once under the count Redis records, as schedule()'s cleanup does
 * (cancel.lua checks that count again as it writes), for cancel() and unschedule() with a queue
 * named too; a refusal that remains still rejects, since a schedule may remain where it could not look.
 */
describe('attack: unschedule() from a process whose partition count is stale', () => {
  const apps = usePartitionApps();
  const stateOn = async (queue: string, key: string, count = 1) => {
    const keys = new QueueKeys(apps.prefix, queue, partitionOfKey(key, count));
    return {
      indexed: await apps.redis.zrange(keys.schedules, 0, -1),
      state: await apps.redis.hget(keys.keyState(key), 'state'),
    };
  };
  /** v1 (2 partitions on `default`) schedules KEY there; v2 (default's count 1: stale) has `report` on `reports`. */
  const deployMove = async () => {
    const v1 = await apps.start(partitioned(2, { worker: false }), [
      ScheduleVersionModule.register(apps.probe, ReportOnDefault),
    ]);
    await v1.client.schedule('report', null, { key: KEY, every: '1h' });
    expect(await stateOn('default', KEY, 2)).toEqual({ indexed: [KEY], state: 'delayed' });
    const v2 = await apps.start({ worker: false }, [ScheduleVersionModule.register(apps.probe, ReportMoved)]);
    return { v1, v2 };
  };

  it('resolves true when the schedule lived on another queue, and it is gone', async () => {
    const { v2 } = await deployMove();
    await v2.client.schedule('report', null, { key: OTHER, every: '1h' });
    expect(await stateOn('reports', OTHER)).toEqual({ indexed: [OTHER], state: 'delayed' });
    // Was: rejected with PartitionLayoutError for `default`, where this key has no schedule.
    await expect(v2.client.unschedule(OTHER)).resolves.toBe(true);
    expect(await stateOn('reports', OTHER)).toEqual({ indexed: [], state: 'cancelled' });
    await expect(v2.client.unschedule(OTHER)).resolves.toBe(false);
  });

  it('resolves true when the schedule lived on the stale queue itself, ended under the count Redis records', async () => {
    const { v2 } = await deployMove();
    // Was: rejected with PartitionLayoutError, and the schedule on `default` went on.
    await expect(v2.client.unschedule(KEY)).resolves.toBe(true);
    expect(await stateOn('default', KEY, 2)).toEqual({ indexed: [], state: 'cancelled' });
    await expect(v2.client.unschedule(KEY)).resolves.toBe(false);
  });

  it('retries with the queue named too, and cancel() (on `default` unless named) likewise', async () => {
    const { v1, v2 } = await deployMove();
    await expect(v2.client.unschedule(KEY, { queue: 'default' })).resolves.toBe(true);
    expect(await stateOn('default', KEY, 2)).toEqual({ indexed: [], state: 'cancelled' });

    const job = await v1.client.enqueue('echo', 'later', { key: KEY, delayMs: 3_600_000 });
    await expect(v2.client.cancel(KEY)).resolves.toBe(true);
    expect(await stateOn('default', KEY, 2)).toEqual({ indexed: [], state: 'cancelled' });
    await expect(job.result({ timeoutMs: 5_000 })).rejects.toBeInstanceOf(TaskCancelledError);
    await expect(v2.client.cancel(KEY, { queue: 'default' })).resolves.toBe(false);
  });

  it('still rejects, after ending it elsewhere, when the retry is refused too; nothing written on the stale queue', async () => {
    const { v2 } = await deployMove();
    await v2.client.schedule('report', null, { key: OTHER, every: '1h' }); // on `reports`; KEY stays on `default`
    // KEY's partition (1 of 2) met a change of the count after partition 0's record was read:
    // the call under 1 is refused in partition 0, the retry under 2 in partition 1.
    const [, one] = apps.partitions(2).all;
    await apps.redis.set(one.layout, '2>4');
    const refused = v2.client.unschedule(KEY);
    await expect(refused).rejects.toBeInstanceOf(PartitionLayoutError);
    // This process's count, and the record the retry met.
    await expect(refused).rejects.toMatchObject({ queue: 'default', stored: '2>4', configured: 1 });
    expect(await stateOn('default', KEY, 2)).toEqual({ indexed: [KEY], state: 'delayed' });

    const both = v2.client.unschedule(OTHER);
    await expect(both).rejects.toBeInstanceOf(PartitionLayoutError); // `default` may hold one: it could not look
    expect(await stateOn('reports', OTHER)).toEqual({ indexed: [], state: 'cancelled' }); // ended all the same

    await apps.redis.set(one.layout, '2');
    await expect(v2.client.unschedule(KEY)).resolves.toBe(true);
    expect(await stateOn('default', KEY, 2)).toEqual({ indexed: [], state: 'cancelled' });
  });
});
