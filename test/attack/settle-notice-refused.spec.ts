import type { Redis } from 'ioredis';
import { useAclRedis } from '../fixtures/acl-redis';
import { periodicRunRead, refusalOf, settleWrites as written } from '../fixtures/settle-writes';
import { defineCheckedScripts, ScriptFixture } from '../scripts/script-fixture';
import { createRedis } from '../utils/redis';

/**
 * Attack on complete.lua and dead-letter.lua refused midway by an ACL. Each acked its runs,
 * stored their results (a dead letter first, for dead-letter.lua) and ended their keys (a
 * periodic run's successor scheduled), and only then told result() waiters on the done channel
 * ('c:<id>', 's:<id>', 'x:<id>'; 'f:<id>'). Redis does not roll a script back: a worker whose
 * user may not publish to the done channel (a misconfigured ACL: README's user has it) had its
 * settle fail after those writes, its waiters never told, the worker told only of an error, its
 * retry finding the runs settled. Now both scripts ask, before their first write, whether the
 * caller may publish there (redis.acl_check_cmd, Redis's own check of the PUBLISH to come): the
 * refusal comes first, nothing written, the runs pending, settled by the retry once the ACL lets
 * the worker publish.
 */
describe('attack: a completion or a dead letter whose notice an ACL refuses', () => {
  const acl = useAclRedis('settle-notice-refused');
  let f: ScriptFixture;
  let worker: Redis;
  beforeEach(async () => {
    f = await new ScriptFixture(acl.url()).setUp();
    worker = createRedis({}, await acl.userWithoutChannels('worker'));
    defineCheckedScripts(worker);
  });
  afterEach(() => f.tearDown());

  /** A task enqueued (keyed when `key` is given) and read by consumer 'a'. */
  async function delivered(key?: string) {
    const [id, gen] = await f.enqueue({ key });
    const [[entryId]] = await f.deliver('a');
    return { entryId, id, key, gen };
  }

  /** Everything the settles may write for `runs`, read at once. */
  const writtenFor = (runs: Array<{ id: string; key?: string }>) =>
    Promise.all(runs.map((r) => written(f, r.id, r.key)));

  /** Lets the worker publish to every channel again. */
  const allowChannels = () => f.redis.call('ACL', 'SETUSER', 'worker', 'allchannels');

  /** What the done channel carries from now on, read through `heard()` once all sent so far arrived. */
  async function listen() {
    const subscriber = createRedis({}, acl.url());
    const tokens: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => tokens.push(...message.split(',')));
    await subscriber.subscribe(f.keys.doneChannel);
    return async () => {
      // Messages arrive in order: once the sentinel is heard, everything published before it was.
      await f.redis.publish(f.keys.doneChannel, 'sentinel');
      await new Promise<void>((resolve) => {
        const check = () => (tokens.includes('sentinel') ? resolve() : setImmediate(check));
        check();
      });
      return tokens.filter((t) => t !== 'sentinel');
    };
  }

  it('a plain completion: refused before its writes, the run still pending, no result', async () => {
    const run = await delivered();
    const before = await writtenFor([run]);
    const refusal = await refusalOf(f.complete('a', [run], undefined, worker));
    expect(await writtenFor([run])).toEqual(before);
    expect(refusal).toMatch(/can't publish to the channel/);
  });

  it('a batch (a plain run, a keyed one, a superseded one): none settled', async () => {
    const plain = await delivered();
    const keyed = await delivered('k');
    const superseded = await delivered('old');
    await f.redis.hset(f.keys.keyState('old'), 'gen', String(superseded.gen + 1));
    const runs = [plain, keyed, superseded];
    const before = await writtenFor(runs);
    const refusal = await refusalOf(f.complete('a', runs, undefined, worker));
    expect(await writtenFor(runs)).toEqual(before);
    expect(refusal).toMatch(/can't publish to the channel/);
  });

  it("a periodic run's completion: its key's state, its successor and the sequence left as they were", async () => {
    const run = await periodicRunRead(f, 'periodic:job');
    const before = await writtenFor([run]);
    const refusal = await refusalOf(f.complete('a', [run], undefined, worker));
    expect(await writtenFor([run])).toEqual(before);
    expect(refusal).toMatch(/can't publish to the channel/);
  });

  it('a refused completion retried once the worker may publish: completed, its waiters told', async () => {
    const run = await delivered();
    await refusalOf(f.complete('a', [run], undefined, worker));
    const heard = await listen();
    await allowChannels();
    await expect(f.complete('a', [run], undefined, worker)).resolves.toEqual(['completed']);
    expect(await heard()).toEqual([`c:${run.id}`]);
  });

  // acl_check_cmd answers no for a refused command as for a refused channel; the PUBLISH it stands
  // for said which ("can't run this command"). Blaming the channel alone sent an operator whose
  // user lacks +publish (README's list has it) to channel rules that allow it.
  it('a worker denied the publish command itself: refused before its writes, the refusal naming the command', async () => {
    const denied = createRedis({}, await acl.userDenied('no-publish', 'publish'));
    defineCheckedScripts(denied);
    const run = await delivered();
    const before = await writtenFor([run]);
    const refusal = await refusalOf(f.complete('a', [run], undefined, denied));
    expect(await writtenFor([run])).toEqual(before);
    expect(refusal).toMatch(/can't publish to the channel .*'publish' command/);
  });

  it('a batch that settles nothing (resent after it went through) tells nothing: answered, not refused', async () => {
    const run = await delivered();
    await f.complete('a', [run]);
    await expect(f.complete('a', [run], undefined, worker)).resolves.toEqual(['not-pending']);
  });

  it("a worker's dead letter: refused before its writes, the run still pending; dead-lettered once, when retried", async () => {
    const run = await delivered();
    const before = await writtenFor([run]);
    const refusal = await refusalOf(f.deadLetter('a', run.entryId, 'poison', { id: run.id }, worker));
    expect(await writtenFor([run])).toEqual(before);
    expect(refusal).toMatch(/can't publish to the channel/);
    const heard = await listen();
    await allowChannels();
    await expect(f.deadLetter('a', run.entryId, 'poison', { id: run.id }, worker)).resolves.toBe('dead-lettered');
    expect(await f.redis.xlen(f.keys.deadLetter)).toBe(1);
    expect(await heard()).toEqual([`f:${run.id}`]);
  });

  it("a periodic run's dead letter: no dead letter, its chain left as it was", async () => {
    const run = await periodicRunRead(f, 'periodic:job');
    const before = await writtenFor([run]);
    const names = { id: run.id, key: run.key, timing: { e: 60_000 } };
    const refusal = await refusalOf(f.deadLetter('a', run.entryId, 'poison', names, worker));
    expect(await writtenFor([run])).toEqual(before);
    expect(refusal).toMatch(/can't publish to the channel/);
  });
});
