import type { Redis } from 'ioredis';
import { readPauseRecords, writePause } from '../../lib/client/queue-pause';
import { QueueKeys } from '../../lib/redis/keys';
import { pauseScript } from '../../lib/scripts/pause.script';
import { useAclRedis } from '../fixtures/acl-redis';
import { refusalOf } from '../fixtures/settle-writes';
import { defineCheckedScripts, ScriptFixture } from '../scripts/script-fixture';
import { createRedis } from '../utils/redis';

/**
 * Attack on pause.lua refused midway by an ACL. It wrote the partition's pause record, then told
 * the workers on the control channel ('paused:<version>'). Redis does not roll a script back: a
 * caller whose user may not publish there (a misconfigured ACL) had pause() reject after the
 * record was written, the queue paused (workers see it at their next poll) while the caller was
 * told it failed. Now it asks, before the write, whether the caller may publish there
 * (includes/notice-check.lua): the refusal comes first, nothing written.
 */
describe('attack: a pause whose notice an ACL refuses', () => {
  const acl = useAclRedis('pause-notice-refused');
  let f: ScriptFixture;
  let caller: Redis;
  beforeEach(async () => {
    f = await new ScriptFixture(acl.url()).setUp();
    caller = createRedis({}, await acl.userWithoutChannels('operator'));
    defineCheckedScripts(caller);
  });
  afterEach(() => f.tearDown());

  it('pause(): refused before the record is written', async () => {
    const refusal = await refusalOf(pauseScript(f.keys, { paused: true, version: 0 }).run(caller));
    expect(await f.redis.hgetall(f.keys.pause)).toEqual({});
    expect(refusal).toMatch(/can't publish to the channel/);
  });

  it('resume() of a paused queue: refused, the queue still paused', async () => {
    await pauseScript(f.keys, { paused: true, version: 0 }).run(f.redis);
    const before = await f.redis.hgetall(f.keys.pause);
    const refusal = await refusalOf(pauseScript(f.keys, { paused: false, version: 0 }).run(caller));
    expect(await f.redis.hgetall(f.keys.pause)).toEqual(before);
    expect(refusal).toMatch(/can't publish to the channel/);
  });

  // Each partition has its own control channel: a user allowed partition 0's alone (an ACL written
  // for the queue before it was partitioned, `&{<prefix>:<queue>}:*`) had partition 0's record
  // written, then the next partition's call refused: pause() rejected, the queue paused (readers
  // go by the newest record), and every call again the same. Partition 0's call, which draws the
  // version, checks every partition's channel before it writes.
  it("pause() of a partitioned queue whose later partition's channel is refused: no record written", async () => {
    const partitions = [f.keys, new QueueKeys(f.prefix, f.keys.queue, 1)];
    await f.redis.call('ACL', 'SETUSER', 'operator', `&${f.keys.controlChannel}`);
    const refusal = await refusalOf(writePause(caller, partitions, true));
    expect(refusal).toContain(`can't publish to the channel ${partitions[1].controlChannel}`);
    expect(await readPauseRecords(f.redis, partitions)).toEqual([
      { paused: false, version: 0 },
      { paused: false, version: 0 },
    ]);
  });
});
