import type { StreamQueueModuleOptions } from '../../../lib';
import { Probe } from '../../fixtures/probe';
import { closeApps, startApp } from '../../fixtures/test-app';
import { randomPrefix, waitFor } from '../../utils/redis';
import { startRedisSentinel, type RedisSentinelHandle } from '../../utils/redis-sentinel';
import { RunLedger } from '../run-ledger';

const TASKS = 300;

/** Sentinel through ioredis's own options: one primary, one replica, three sentinels. */
describe('behind Redis Sentinel', () => {
  let group: RedisSentinelHandle;
  beforeAll(async () => {
    group = await startRedisSentinel();
  }, 60_000);
  afterEach(closeApps);
  afterAll(() => group?.stop());

  it('the primary SIGKILLed mid-drain: the replica is promoted, nothing acknowledged by it is lost, no run overlaps', async () => {
    const prefix = randomPrefix();
    const ledger = new RunLedger();
    const options: Partial<StreamQueueModuleOptions> = {
      connection: { sentinels: group.sentinels, name: group.name },
      concurrency: 8,
      leaseMs: 10_000,
    };
    const producer = await startApp({
      prefix,
      options: { ...options, worker: false, durability: { replicas: 1, timeoutMs: 5_000 } },
    });
    const ids = await Promise.all(
      Array.from({ length: TASKS }, (_, i) => producer.client.enqueue('echo', i).then((h) => h.id)),
    );
    const probe = new Probe().on('echo', ledger.handler(20));
    await startApp({ prefix, probe, options });
    await startApp({ prefix, probe, options });
    await waitFor(() => ledger.completed.size >= TASKS / 4, { timeoutMs: 30_000, description: 'a quarter drained' });

    const before = await group.primaryPort();
    await group.failover();
    expect(await group.primaryPort()).not.toBe(before);
    await waitFor(() => ledger.lost(ids).length === 0, { timeoutMs: 90_000, description: 'every task completed' });

    expect(ledger.lost(ids)).toEqual([]);
    expect(ledger.overlaps).toEqual([]);
    process.stderr.write(`[sentinel] ${TASKS} tasks, ${ledger.repeated().length} ran twice, 0 lost, 0 overlaps\n`);
  }, 150_000);
});
