import { Logger } from '@nestjs/common';
import { PauseWatch } from '../../lib/consumer/pause-watch';
import { partitioned, usePartitionApps } from '../partitions/partition-apps';
import { sleep } from '../utils/helpers';

const HEARTBEAT_MS = 100;

/**
 * Attack on a pause record whose `version` is not a version (anyone with Redis access can write
 * one: `x`, `1.5`, `1e300`): such a version reads as 0, a record never written, and the reader
 * went by the newest record, so a record saying paused=1 was outvoted by "never paused": the
 * queue ran (isPaused() said false, the workers' poll opened their gates) while its record said
 * paused. A record saying paused=1 holds the queue paused whatever its version holds, until a
 * pause() or resume() writes it again (which repairs the version); no notice opens a worker's
 * gate held so, only a poll that reads the record repaired.
 */
describe('attack: a pause record saying paused whose version is not a version', () => {
  const apps = usePartitionApps();
  const { redis } = apps;

  it.each(['x', '1.5', '1e300', '-1', '99999999999999999999'])(
    "isPaused() says true for paused=1 with version '%s', and resume() repairs it",
    async (version) => {
      const app = await apps.start({ worker: false });
      const p0 = apps.partitions(1).keysFor(0);
      await redis.hset(p0.pause, 'paused', '1', 'version', version);
      expect(await app.client.isPaused('default')).toBe(true);
      await app.client.resume('default');
      expect(await app.client.isPaused('default')).toBe(false);
      expect(await redis.hget(p0.pause, 'version')).toMatch(/^[1-9]\d*$/);
    },
  );

  it('a bad-version paused record on partition 1 holds the queue paused beside a newer resume on partition 0', async () => {
    const app = await apps.start(partitioned(2, { worker: false }));
    const [p0, p1] = apps.partitions(2).all;
    await app.client.resume('default');
    expect(await redis.hget(p0.pause, 'paused')).toBe('0');
    await redis.hset(p1.pause, 'paused', '1', 'version', 'x');
    expect(await app.client.isPaused('default')).toBe(true);
    await app.client.pause('default');
    await app.client.resume('default');
    expect(await app.client.isPaused('default')).toBe(false);
    expect(await redis.hget(p1.pause, 'version')).toMatch(/^[1-9]\d*$/);
  });

  it('a worker booting on such a record runs nothing until resume()', async () => {
    await redis.hset(apps.partitions(1).keysFor(0).pause, 'paused', '1', 'version', 'x');
    const worker = await apps.start({ heartbeatIntervalMs: HEARTBEAT_MS });
    await worker.client.enqueue('echo', 'held');
    await sleep(5 * HEARTBEAT_MS);
    expect(apps.probe.runsOf('echo')).toHaveLength(0);
    await worker.client.resume('default');
    const handle = await worker.client.enqueue('echo', 'after');
    await expect(handle.result({ timeoutMs: 5_000 })).resolves.toBe('after');
  });

  it("the watch's poll holds the gate paused, and a stale notice does not open it", async () => {
    const app = await apps.start({ worker: false });
    const partitions = apps.partitions(1).all;
    await app.client.resume('default');
    const resumedAt = Number(await redis.hget(partitions[0].pause, 'version'));
    const watch = new PauseWatch(redis, new Map([['default', partitions]]), 2 ** 30, new Logger('spec'));
    await watch.start();
    try {
      const gate = watch.gate('default');
      expect(gate.isPaused).toBe(false);
      await redis.hset(partitions[0].pause, 'paused', '1', 'version', '1.5');
      await watch.pollNow();
      expect(gate.isPaused).toBe(true);
      // A notice of the resume the watch has already seen (delivered late) changes nothing.
      watch.notice('default', false, resumedAt);
      watch.notice('default', false, 1);
      expect(gate.isPaused).toBe(true);
      // Nor does a newer one while the record still says paused (a resume() that failed before
      // writing it, or whose write of it has not come yet): only a poll that reads it repaired.
      watch.notice('default', false, resumedAt + 1);
      expect(gate.isPaused).toBe(true);
      await watch.pollNow();
      expect(gate.isPaused).toBe(true);
      // A resume() repairs the record; a pause() whose notice comes while the poll's read (older
      // than it) is under way keeps the gate shut: the poll does not open it on that older read.
      await app.client.resume('default');
      const repaired = Number(await redis.hget(partitions[0].pause, 'version'));
      const polled = watch.pollNow();
      watch.notice('default', true, repaired + 1);
      await polled;
      expect(gate.isPaused).toBe(true);
      // The next poll reads the repaired record, and its state opens the gate.
      await watch.pollNow();
      expect(gate.isPaused).toBe(false);
    } finally {
      watch.stop();
    }
  });
});
