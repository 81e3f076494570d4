import { waitFor } from '../utils/redis';
import { useGenerationApps } from '../generations/generation-apps';

/**
 * A runtime schedule whose waiting run's message is gone: its delayed member deleted by an
 * operator (a ZREM), or dead-lettered by a promotion as malformed (promote.lua leaves a state that
 * stores a schedule as it is, for "the next schedule()" to judge). Runtime schedules have no
 * restore: schedule() of the key again is how a user puts one back. It read the state 'delayed'
 * with the same signature and answered that the same schedule was live, left alone (created:
 * false): no run ever came again, whatever the user called.
 */
describe('attack: schedule() of a key whose delayed run is gone', () => {
  const gen = useGenerationApps();
  const { redis, start } = gen;
  const every = 3_600_000;

  it('after an operator deleted its delayed member: puts the chain back', async () => {
    const app = await start({ worker: false });
    const key = 'member-deleted';
    const first = await app.client.schedule('keyed', 'tick', { key, every });
    const member = (await redis.hget(app.keys.keyState(key), 'dm'))!;
    await redis.zrem(app.keys.delayed, member);

    const again = await app.client.schedule('keyed', 'tick', { key, every });

    expect(again.created).toBe(true);
    expect(again.id).not.toBe(first.id);
    expect(await redis.zscore(app.keys.delayed, (await redis.hget(app.keys.keyState(key), 'dm'))!)).not.toBeNull();
  });

  it('after a promotion dead-lettered its malformed member: puts the chain back', async () => {
    const app = await start();
    const key = 'member-malformed';
    await app.client.schedule('keyed', 'tick', { key, every });
    const member = (await redis.hget(app.keys.keyState(key), 'dm'))!;
    const hostile = member.replace('"a":"1"', '"a":1');
    expect(hostile).not.toBe(member);
    await redis.zrem(app.keys.delayed, member);
    await redis.zadd(app.keys.delayed, 0, hostile);
    await waitFor(async () => (await redis.xlen(app.keys.deadLetter)) === 1, { description: 'dead-lettered' });
    expect(await redis.hget(app.keys.keyState(key), 'state')).toBe('delayed'); // a schedule's: left as it is

    const again = await app.client.schedule('keyed', 'tick', { key, every });

    expect(again.created).toBe(true);
    expect(await redis.zscore(app.keys.delayed, (await redis.hget(app.keys.keyState(key), 'dm'))!)).not.toBeNull();
  });
});
