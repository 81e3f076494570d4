import { partitioned, usePartitionApps } from '../partitions/partition-apps';

/**
 * Attack on the pause record's version (pause.lua, newestRecord): anyone with Redis access can
 * write a record's `version`. One past what a version can be (not an integer from 0 to 2^53-1)
 * was taken as it read: on partition 1, a huge one outvoted every later call for ever (readers go
 * by the newest record, and pause.lua refused each call's older version there); on partition 0,
 * one past 2^63 made pause() write a negative version, which readers ignore (pause() resolved,
 * isPaused() said false, and no worker paused).
 */
describe('attack: a pause record whose version is not a version', () => {
  const apps = usePartitionApps();
  const { redis } = apps;

  it('a huge version on partition 1 does not outvote the calls made after it', async () => {
    const app = await apps.start(partitioned(2, { worker: false }));
    const [, p1] = apps.partitions(2).all;
    await redis.hset(p1.pause, 'paused', '1', 'version', '1e300');
    await app.client.resume('default');
    expect(await app.client.isPaused('default')).toBe(false);
    await app.client.pause('default');
    await app.client.resume('default');
    expect(await app.client.isPaused('default')).toBe(false);
    expect(await redis.hget(p1.pause, 'paused')).toBe('0');
  });

  it('a version past 2^63 on partition 0: the next pause() pauses', async () => {
    const app = await apps.start({ worker: false });
    const p0 = apps.partitions(1).keysFor(0);
    await redis.hset(p0.pause, 'paused', '0', 'version', '1e19');
    await app.client.pause('default');
    expect(await app.client.isPaused('default')).toBe(true);
    expect(Number(await redis.hget(p0.pause, 'version'))).toBeGreaterThan(0);
  });
});
