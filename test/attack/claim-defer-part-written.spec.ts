import { closeAll } from '../utils/redis';
import { ScriptFixture } from '../scripts/script-fixture';
import { useCountingScripts } from '../fixtures/counting-scripts';
import { QueueKeys } from '../../lib/redis/keys';
import { claimScript } from '../../lib/scripts/claim.script';
import { CONSUMER_GROUP } from '../../lib/stream-queue.constants';
import { plainEntryRead, refusalOf, settleWrites as written } from '../fixtures/settle-writes';

/**
 * Attack on claim.lua refused midway. A claim that deferred a keyed run (an older run of its key
 * still running elsewhere) read its entry, acked and deleted it, then ZADDed it into the delayed
 * set. Redis does not roll a script back, so a delayed set of another type (anyone with Redis
 * access can SET one) failed the claim after the delete: the run was gone, its key state still
 * naming it queued at the deleted entry. Now a claim with a keyed message reads the delayed
 * set's type before its first write: a refused claim writes nothing, the run stays pending to
 * its consumer, and is deferred once the set is of its type again (or gone).
 */
describe('attack: a claim Redis refuses midway', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  it('a keyed run deferred behind a running one, its delayed set a string: refused naming it, nothing written, deferred once the set is back', async () => {
    await f.enqueue({ key: 'k' });
    const [[e1, m1]] = await f.deliver('a');
    expect(await f.claim('a', [{ entryId: e1, key: 'k', gen: Number(m1.g) }])).toEqual(['run']);
    await f.enqueue({ key: 'k', mode: 'replace' });
    const [[e2, m2]] = await f.deliver('b');
    const second = { entryId: e2, key: 'k', gen: Number(m2.g) };
    await f.redis.set(f.keys.delayed, 'x');
    const before = await written(f, m2.id, 'k');
    const refusal = await refusalOf(f.claim('b', [second]));
    expect(await written(f, m2.id, 'k')).toEqual(before);
    expect(refusal).toMatch(`WRONGTYPE the delayed set ${f.keys.delayed} holds a string, not a zset`);
    await f.redis.del(f.keys.delayed);
    expect(await f.claim('b', [second])).toEqual(['deferred']);
    expect(await f.redis.zcard(f.keys.delayed)).toBe(1);
    expect((await f.keyState('k')).rmid).toBe(e1);
  });
});

describe('attack: what the check costs an unkeyed claim', () => {
  const counting = useCountingScripts();

  /** Commands claim.lua runs for one unkeyed message this consumer holds, the delayed set `delayed`. */
  async function unkeyedClaim(queue: string, delayed?: string): Promise<number> {
    const redis = counting.redis();
    const keys = new QueueKeys(counting.prefix, queue);
    const entryId = await plainEntryRead(redis, keys, delayed);
    await redis.set(counting.counter, 0);
    const reply = await claimScript(keys, {
      group: CONSUMER_GROUP,
      consumer: 'a',
      deferMs: 50,
      stateTtlMs: 60_000,
      messages: [{ entryId, taskId: 'plain', generation: 0, key: undefined }],
    }).run(redis);
    expect(reply).toMatchObject([{ verdict: 'run' }]);
    return Number(await redis.get(counting.counter));
  }

  it('reads nothing more: XPENDING alone; the delayed set not read', async () => {
    await expect(unkeyedClaim('plain')).resolves.toBe(1);
    await expect(unkeyedClaim('plain-delayed-string', 'x')).resolves.toBe(1);
  });
});
