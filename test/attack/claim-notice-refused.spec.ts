import type { Redis } from 'ioredis';
import { claimScript } from '../../lib/scripts/claim.script';
import { useAclRedis } from '../fixtures/acl-redis';
import { refusalOf, settleWrites as written } from '../fixtures/settle-writes';
import { defineCheckedScripts, GROUP, LEASE_MS, ScriptFixture } from '../scripts/script-fixture';
import { createRedis } from '../utils/redis';

/**
 * Attack on claim.lua refused midway by an ACL. A keyed run found stale at its claim (its key
 * superseded it) was acked and deleted, its key released, and only then were its result()
 * waiters told ('s:<id>' or 'x:<id>' on the done channel); the runs of the call before it were
 * written too (a keyed run marked running under its fence, one deferred moved to the delayed
 * set). Redis does not roll a script back: a worker whose user may not publish to the done
 * channel (a misconfigured ACL) had the claim refused after those writes, the stale run's
 * waiters never told, the other runs marked running for a worker told only of an error. Now a
 * claim with a keyed message asks, before its first write, whether the caller may publish there
 * (includes/notice-check.lua): the refusal comes first, nothing written.
 */
describe('attack: a claim whose stale notice an ACL refuses', () => {
  const acl = useAclRedis('claim-notice-refused');
  let f: ScriptFixture;
  let worker: Redis;
  beforeEach(async () => {
    f = await new ScriptFixture(acl.url()).setUp();
    worker = createRedis({}, await acl.userWithoutChannels('worker'));
    defineCheckedScripts(worker);
  });
  afterEach(() => f.tearDown());

  /** A keyed task enqueued under `key` and read by consumer 'a': the message claim.lua takes. */
  async function delivered(key: string) {
    const [taskId, generation] = await f.enqueue({ key });
    const [[entryId]] = await f.deliver('a');
    return { entryId, taskId, generation, key };
  }

  /** claim.lua of `messages` by consumer 'a', as the channel-less worker. */
  const claim = (messages: Array<Awaited<ReturnType<typeof delivered>>>) =>
    claimScript(f.keys, { group: GROUP, consumer: 'a', deferMs: 50, stateTtlMs: LEASE_MS, messages }).run(worker);

  /** Everything the claim may write for `runs`, read at once. */
  const writtenFor = (runs: Array<{ taskId: string; key: string }>) =>
    Promise.all(runs.map((r) => written(f, r.taskId, r.key)));

  it('a stale keyed run: refused before its ack, still pending, its key left as it was', async () => {
    const stale = await delivered('k');
    await f.redis.hset(f.keys.keyState('k'), 'gen', String(stale.generation + 1));
    const before = await writtenFor([stale]);
    const refusal = await refusalOf(claim([stale]));
    expect(await writtenFor([stale])).toEqual(before);
    expect(refusal).toMatch(/can't publish to the channel/);
  });

  it('a keyed run to start, then a stale one: neither written', async () => {
    const runs = [await delivered('run'), await delivered('old')];
    await f.redis.hset(f.keys.keyState('old'), 'gen', String(runs[1].generation + 1));
    const before = await writtenFor(runs);
    const refusal = await refusalOf(claim(runs));
    expect(await writtenFor(runs)).toEqual(before);
    expect(refusal).toMatch(/can't publish to the channel/);
  });
});
