import { Injectable } from '@nestjs/common';
import { KeyConflictError, PartitionLayoutError, Task } from '../../lib';
import { partitionOfKey } from '../../lib/partitions/queue-partitions';
import { QueueKeys } from '../../lib/redis/keys';
import { logger } from '../fixtures/test-app';
import { ScheduleVersionModule } from '../generations/schedule-versions';
import { partitioned, usePartitionApps } from '../partitions/partition-apps';

/** Version 1: `report` on `default`. */
@Injectable()
class ReportOnDefault {
  @Task('report')
  report(): void {}
}

/** Version 2: `report` moved to `reports` (the fixtures' `echo` stays on `default`). */
@Injectable()
class ReportMoved {
  @Task('report', { queue: 'reports' })
  report(): void {}
}

/** A key in partition 1 of 2: a process with 1 partition would look for it in partition 0. */
const KEY = Array.from({ length: 50 }, (_, i) => `report:${i}`).find((k) => partitionOfKey(k, 2) === 1)!;

/**
 * Review finding: schedule() writes the key's chain on its task's queue, then ends the key's
 * chain of the same task on every other queue this process knows (cancel.lua per queue). That
 * second step threw when this process's partition count for the other queue was stale (another
 * deploy changed `queues.default.partitions`; `default` is always one of them) or Redis failed
 * it: schedule() rejected with PartitionLayoutError although the new chain was in place, and the
 * old chain went on firing, so every slot ran twice while the caller believed nothing was
 * scheduled. unschedule() stopped at the first queue that threw, leaving the later ones
 * untouched. Now the cleanup retries with the count Redis records, and when it still cannot run,
 * schedule() resolves with its handle and logs a warning naming the key and the queue; unschedule()
 * tries every queue before it throws.
 */
describe('attack: schedule() whose cleanup on another queue fails', () => {
  const apps = usePartitionApps();
  const oldChain = async (count: number) => {
    const keys = new QueueKeys(apps.prefix, 'default', partitionOfKey(KEY, count));
    return {
      indexed: await apps.redis.zrange(keys.schedules, 0, -1),
      state: await apps.redis.hget(keys.keyState(KEY), 'state'),
    };
  };
  /** v1 (2 partitions on `default`) schedules KEY there; v2 (default's count 1: stale) moves it. */
  const deployMove = async () => {
    const v1 = await apps.start(partitioned(2, { worker: false }), [
      ScheduleVersionModule.register(apps.probe, ReportOnDefault),
    ]);
    await v1.client.schedule('report', null, { key: KEY, every: '1h' });
    expect(await oldChain(2)).toEqual({ indexed: [KEY], state: 'delayed' });
    return apps.start({ worker: false }, [ScheduleVersionModule.register(apps.probe, ReportMoved)]);
  };
  const newChain = async () => {
    const keys = new QueueKeys(apps.prefix, 'reports');
    return {
      indexed: await apps.redis.zrange(keys.schedules, 0, -1),
      state: await apps.redis.hget(keys.keyState(KEY), 'state'),
    };
  };

  it("resolves with the new chain's handle and ends the old chain, under the count Redis records", async () => {
    const v2 = await deployMove();
    // Was: rejected with PartitionLayoutError ('stored with 2 partitions, but this process uses 1').
    const handle = await v2.client.schedule('report', null, { key: KEY, every: '1h' });
    expect(handle).toMatchObject({ queue: 'reports', key: KEY, created: true });
    expect(await newChain()).toEqual({ indexed: [KEY], state: 'delayed' });
    expect(await oldChain(2)).toEqual({ indexed: [], state: 'cancelled' });
  });

  it('resolves with its handle and warns, naming key and queue, when the cleanup cannot run; scheduling again ends it', async () => {
    const v2 = await deployMove();
    const [zero, one] = apps.partitions(2).all;
    await apps.redis.mset(zero.layout, '2>4', one.layout, '2>4'); // a change of the count under way
    const mark = logger.lines.length;

    const handle = await v2.client.schedule('report', null, { key: KEY, every: '1h' });
    expect(handle).toMatchObject({ queue: 'reports', key: KEY, created: true });
    expect(await newChain()).toEqual({ indexed: [KEY], state: 'delayed' });
    const warnings = logger.lines
      .slice(mark)
      .filter((l) => l.level === 'warn')
      .map((l) => l.message);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`"${KEY}"`);
    expect(warnings[0]).toContain('queue "default"');
    expect(await oldChain(2)).toEqual({ indexed: [KEY], state: 'delayed' }); // left, and said so

    await apps.redis.mset(zero.layout, '2', one.layout, '2');
    const again = await v2.client.schedule('report', null, { key: KEY, every: '1h' });
    expect(again).toMatchObject({ id: handle.id, created: false });
    expect(await oldChain(2)).toEqual({ indexed: [], state: 'cancelled' });
  });

  it('a schedule() refused with KeyConflictError still keeps the old chain', async () => {
    const v2 = await deployMove();
    await v2.client.enqueue('report', null, { key: KEY, delayMs: 3_600_000 });
    await expect(v2.client.schedule('report', null, { key: KEY, every: '1h' })).rejects.toBeInstanceOf(
      KeyConflictError,
    );
    expect(await oldChain(2)).toEqual({ indexed: [KEY], state: 'delayed' });
  });

  it('unschedule() tries every queue before it throws for the one it could not read', async () => {
    const v2 = await deployMove();
    await v2.client.schedule('report', null, { key: KEY, every: '1h' });
    await v2.client.schedule('report', 'on reports only', { key: 'report:other', every: '1h' });
    // `default` comes first and cannot be written (a change of its count under way; a count that
    // is only stale is retried: unschedule-stale-count.spec): it used to stop there.
    const [zero, one] = apps.partitions(2).all;
    await apps.redis.mset(zero.layout, '2>4', one.layout, '2>4');
    await expect(v2.client.unschedule('report:other')).rejects.toBeInstanceOf(PartitionLayoutError);
    const reports = new QueueKeys(apps.prefix, 'reports');
    expect(await apps.redis.hget(reports.keyState('report:other'), 'state')).toBe('cancelled');
    expect(await apps.redis.zrange(reports.schedules, 0, -1)).toEqual([KEY]);
  });
});
