import type { Redis } from 'ioredis';
import { failScript, type FailedTask } from '../../lib/scripts/fail.script';
import { useAclRedis } from '../fixtures/acl-redis';
import { refusalOf, settleWrites as written } from '../fixtures/settle-writes';
import { defineCheckedScripts, GROUP, LEASE_MS, ScriptFixture } from '../scripts/script-fixture';
import { createRedis } from '../utils/redis';

/**
 * Attack on fail.lua refused midway by an ACL. It acked and deleted the failed run's entry, wrote
 * its dead letter, its stored failure and its key's end, and only then told result() waiters
 * ('f:<id>' on the done channel; 's:<id>' or 'x:<id>' for a superseded run, after the ack).
 * Redis does not roll a script back: a worker whose user may not publish to the done channel (a
 * misconfigured ACL: README's user has it) failed the settle after those writes, its waiters
 * never told, the caller told only of an error (its retry then found the run settled). Now the
 * notice goes before the writes it announces, as in the other scripts (a subscriber acts on it
 * only once the script is over): the refusal comes first, nothing written, the run pending.
 */
describe('attack: a failure settle whose notice an ACL refuses', () => {
  const acl = useAclRedis('fail-notice-refused');
  let f: ScriptFixture;
  let worker: Redis;
  beforeEach(async () => {
    f = await new ScriptFixture(acl.url()).setUp();
    worker = createRedis({}, await acl.userWithoutChannels('worker'));
    defineCheckedScripts(worker);
  });
  afterEach(() => f.tearDown());

  /** fail.lua of `entryId` by consumer 'a', as the channel-less worker: a dead letter. */
  const deadLetter = (entryId: string, task: Partial<FailedTask> & { id: string }) =>
    failScript(f.keys, {
      group: GROUP,
      consumer: 'a',
      stateTtlMs: LEASE_MS,
      entryId,
      retryInMs: undefined,
      resultTtlMs: LEASE_MS,
      failure: '{"ok":false,"error":{"name":"Error","message":"x"}}',
      deadLetterReason: 'boom',
      deadLetterMaxLen: 100,
      successor: '',
      task: { name: 'job', payload: '{}', attempt: 2, generation: 0, keepResult: false, ...task },
    }).run(worker);

  it('a dead letter: refused before its writes, the run still pending, no dead letter', async () => {
    const [id] = await f.enqueue();
    const [[entryId]] = await f.deliver('a');
    const before = await written(f, id);
    const refusal = await refusalOf(deadLetter(entryId, { id }));
    expect(await written(f, id)).toEqual(before);
    expect(refusal).toMatch(/can't publish to the channel/);
  });

  it("a keyed run's dead letter: its key's state left as it was", async () => {
    const [id, gen] = await f.enqueue({ key: 'k' });
    const [[entryId]] = await f.deliver('a');
    const before = await written(f, id, 'k');
    const refusal = await refusalOf(deadLetter(entryId, { id, key: 'k', generation: gen }));
    expect(await written(f, id, 'k')).toEqual(before);
    expect(refusal).toMatch(/can't publish to the channel/);
  });

  it('a superseded run: refused before its ack, still pending', async () => {
    const [id, gen] = await f.enqueue({ key: 'k' });
    const [[entryId]] = await f.deliver('a');
    await f.redis.hset(f.keys.keyState('k'), 'gen', String(gen + 1));
    const before = await written(f, id, 'k');
    const refusal = await refusalOf(deadLetter(entryId, { id, key: 'k', generation: gen }));
    expect(await written(f, id, 'k')).toEqual(before);
    expect(refusal).toMatch(/can't publish to the channel/);
  });
});
