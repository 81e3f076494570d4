import { newestRecord, readPauseRecords, writePause } from '../../lib/client/queue-pause';
import type { QueueKeys } from '../../lib/redis/keys';
import { defineScripts } from '../../lib/redis/scripts';
import { interceptCommands } from '../fixtures/command-hooks';
import { partitioned, usePartitionApps } from '../partitions/partition-apps';
import { Latch, sleep } from '../utils/helpers';
import { waitFor } from '../utils/redis';

const HEARTBEAT_MS = 200;
const MAX_VERSION = '9007199254740991'; // 2^53-1, the largest version a record can hold
const HOUR_MS = 3_600_000;

/**
 * Attack on the pause records' versions (queue-pause.ts writePause, pause.lua). Partition 0 drew
 * a call's version from its own record and Redis's clock; the other partitions refuse a version
 * below theirs. A partition 0 that lost its record (a failover that lost the write, a restart
 * without persistence, an operator's DEL), served by a node whose clock is behind the one that
 * wrote the others (cluster nodes' clocks differ; one node's clock can go back across a restart),
 * drew a version below theirs: they refused the resume(), which resolved all the same, and the
 * queue stayed paused (readers go by the newest record) with no error.
 */
describe('attack: a pause record newer than the clock that draws the next version', () => {
  const apps = usePartitionApps();
  const { redis } = apps;

  const states = (partitions: readonly QueueKeys[]) =>
    Promise.all(partitions.map((k) => redis.hget(k.pause, 'paused')));

  it('partition 0 lost its record, partition 1 holds a later clock: resume() resumes every partition', async () => {
    const worker = await apps.start(partitioned(2, { heartbeatIntervalMs: HEARTBEAT_MS }));
    const partitions = apps.partitions(2).all;
    await worker.client.pause('default');
    // Partition 1's record as a node an hour ahead wrote it; partition 0's lost.
    await redis.hset(partitions[1].pause, 'version', String(Date.now() + HOUR_MS));
    await redis.del(partitions[0].pause);
    const handles = await worker.client.enqueueMany(
      Array.from({ length: 8 }, (_, i) => ({ name: 'echo', payload: i })),
    );
    expect(new Set(handles.map((h) => h.toJSON().partition ?? 0))).toEqual(new Set([0, 1]));
    await sleep(3 * HEARTBEAT_MS);
    expect(apps.probe.runs).toEqual([]);

    await worker.client.resume('default');
    expect(await worker.client.isPaused('default')).toBe(false);
    expect(await states(partitions)).toEqual(['0', '0']);
    await expect(Promise.all(handles.map((h) => h.result({ timeoutMs: 5_000 })))).resolves.toHaveLength(8);

    // And the calls after it still order by version: pause() then resume() leave it resumed.
    await worker.client.pause('default');
    expect(await worker.client.isPaused('default')).toBe(true);
    expect(await states(partitions)).toEqual(['1', '1']);
    await worker.client.resume('default');
    expect(await states(partitions)).toEqual(['0', '0']);
  });

  it('a record newer than the call written between its read and its write: the call takes effect all the same', async () => {
    const app = await apps.start(partitioned(3, { worker: false }));
    const partitions = apps.partitions(3).all;
    await app.client.pause('default');
    // Not a newer call (partition 0 keeps this one's version): a record outside the protocol, as a
    // failover that put back an older copy of a node with a faster clock.
    let interfered = false;
    const interleaved = interceptCommands(redis.duplicate(), {
      sq_pause: async (args, send) => {
        if (args[1] === partitions[2].pause && !interfered) {
          interfered = true;
          await redis.hset(partitions[2].pause, 'paused', '1', 'version', String(Date.now() + HOUR_MS));
        }
        return send();
      },
    });
    defineScripts(interleaved);
    try {
      await writePause(interleaved, partitions, false);
    } finally {
      interleaved.disconnect();
    }
    expect(interfered).toBe(true);
    expect(newestRecord(await readPauseRecords(redis, partitions)).paused).toBe(false);
    expect(await states(partitions)).toEqual(['0', '0', '0']);
  });

  it('a call overtaken by a later one is refused and resolves without drawing again: the later state stands', async () => {
    const app = await apps.start(partitioned(2, { worker: false }));
    const partitions = apps.partitions(2).all;
    // pause() writes partition 0, then waits before partition 1 while resume() runs to the end.
    const resumed = new Latch();
    const slow = interceptCommands(redis.duplicate(), {
      sq_pause: async (args, send) => {
        if (args[1] === partitions[1].pause) await resumed.wait();
        return send();
      },
    });
    defineScripts(slow);
    try {
      const pause = writePause(slow, partitions, true);
      await waitFor(async () => (await redis.hget(partitions[0].pause, 'paused')) === '1', {
        description: 'pause() wrote partition 0',
      });
      await app.client.resume('default');
      const resumedAt = await redis.hget(partitions[0].pause, 'version');
      resumed.open();
      await pause;
      expect(await states(partitions)).toEqual(['0', '0']);
      expect(await redis.hget(partitions[0].pause, 'version')).toBe(resumedAt); // pause() drew no new one
    } finally {
      slow.disconnect();
    }
  });

  it('a partition that refuses every attempt: resume() rejects, naming it, instead of resolving', async () => {
    await apps.start(partitioned(2, { worker: false }));
    const partitions = apps.partitions(2).all;
    const refusing = interceptCommands(redis.duplicate(), {
      sq_pause: async (args, send) => {
        if (args[1] === partitions[1].pause) {
          const version = Number((await redis.hget(partitions[0].pause, 'version')) ?? 0);
          await redis.hset(partitions[1].pause, 'paused', '1', 'version', String(version + HOUR_MS));
        }
        return send();
      },
    });
    defineScripts(refusing);
    try {
      await expect(writePause(refusing, partitions, false)).rejects.toMatchObject({
        code: 'PAUSE_REFUSED',
        partition: 1,
      });
    } finally {
      refusing.disconnect();
    }
  });

  it('no version is left above a record (2^53-1 on partition 1): resume() rejects and writes nothing', async () => {
    const app = await apps.start(partitioned(2, { worker: false }));
    const partitions = apps.partitions(2).all;
    await app.client.pause('default');
    await redis.hset(partitions[1].pause, 'version', MAX_VERSION);
    const before = await Promise.all(partitions.map((k) => redis.hgetall(k.pause)));
    await expect(app.client.resume('default')).rejects.toMatchObject({ code: 'PAUSE_REFUSED', partition: 1 });
    expect(await Promise.all(partitions.map((k) => redis.hgetall(k.pause)))).toEqual(before);
    expect(await app.client.isPaused('default')).toBe(true);
  });

  it('no version is left above partition 0 (2^53-1): pause() rejects instead of writing one readers ignore', async () => {
    const app = await apps.start({ worker: false });
    const p0 = apps.partitions(1).keysFor(0);
    await redis.hset(p0.pause, 'paused', '0', 'version', MAX_VERSION);
    await expect(app.client.pause('default')).rejects.toMatchObject({ code: 'PAUSE_REFUSED', partition: 0 });
    expect(await redis.hgetall(p0.pause)).toEqual({ paused: '0', version: MAX_VERSION });
  });
});
