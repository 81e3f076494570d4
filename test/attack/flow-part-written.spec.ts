import type { Redis } from 'ioredis';
import { enqueueFlowScript, type FlowLimits } from '../../lib/scripts/enqueue-flow.script';
import { removeTaskScript } from '../../lib/scripts/remove-task.script';
import { useAclRedis } from '../fixtures/acl-redis';
import { heldTaskIds, waitingTaskIds } from '../fixtures/flow-state';
import { closeAll, createRedis } from '../utils/redis';
import { defineCheckedScripts, LEASE_MS, ScriptFixture } from '../scripts/script-fixture';

/** One start a minute, no slot limit: the first run takes the window's last token. */
const RATED: FlowLimits = { global: 0, group: 0, agingMs: 1000, rate: { max: 1, perMs: 60_000 } };
/** One run at a time, and one start a minute. */
const RATED_ONE: FlowLimits = { ...RATED, global: 1 };
/** groupConcurrency 1, then 2: the raise feeds the task waiting behind the held one. */
const GROUP_ONE: FlowLimits = { global: 0, group: 1, agingMs: 1000 };
const GROUP_TWO: FlowLimits = { global: 0, group: 2, agingMs: 1000 };

/** What a flow call may have written: the flow keys, the stream's entries and the delayed set. */
async function flowWritten(f: ScriptFixture) {
  const read = async (key: string) => ((await f.redis.type(key)) === 'string' ? f.redis.get(key) : undefined);
  return {
    tasks: await f.redis.hgetall(f.keys.flow.tasks),
    count: await f.redis.hgetall(f.keys.flow.count),
    limits: await f.redis.hgetall(f.keys.flow.limits),
    room: await f.redis.zrange(f.keys.flow.room, 0, -1),
    ring: await f.redis.lrange(f.keys.flow.ring, 0, -1),
    stream: (await read(f.keys.stream)) ?? (await f.redis.xrange(f.keys.stream, '-', '+')),
    delayed: (await read(f.keys.delayed)) ?? (await f.redis.zrange(f.keys.delayed, 0, -1)),
  };
}

/** enqueue-flow.lua of task `id` of 'job' on connection `on`: its stream entry when admitted at once. */
async function enqueueFlow(f: ScriptFixture, on: Redis, id: string, limits: FlowLimits, delayMs = 0) {
  const reply = await enqueueFlowScript(f.keys, { id, name: 'job', payload: '{}', delayMs, runAt: 0, limits }).run(on);
  return reply as { entryId?: string };
}

/**
 * Attack on flow control's scripts refused midway. Redis does not roll a script back, and the
 * flow scripts wrote before commands that can still refuse: a rate window's wake was announced
 * (PUBLISH on the control channel) after the admission's XADD, or after a removal's release had
 * begun, so a caller whose ACL refuses that channel (a producer with none, or with its done
 * channel only) was told of an error while the task was in the stream holding no slot (run
 * outside its limits; an enqueue() retried ran it twice), or while its slot stayed counted with
 * no holder (the limit lower for good); and enqueue-flow.lua met a stream or delayed set of
 * another type (anyone with Redis access can make one) after recording raised limits and
 * feeding the room, a waiting task taken out of the room and never appended (lost). Now a caller
 * the ACL refuses the channel writes the wake unannounced (a worker's promotion serves it at its
 * next plan), and its call goes through; enqueue-flow.lua reads the stream and the delayed set
 * before its first write, and refuses with nothing written.
 * Out of memory refuses no script midway on Redis 7 (a script without flags is refused OOM only
 * at a write before any other write), so these are the refusals left.
 */
describe('attack: a flow call Redis refuses midway', () => {
  describe('a control channel the ACL refuses', () => {
    const acl = useAclRedis('flow-part-written');
    let f: ScriptFixture;
    beforeEach(async () => (f = await new ScriptFixture(acl.url()).setUp()));
    afterEach(() => f.tearDown());

    /** A connection as `user`, made (or reset) to publish to `channels` alone, with the scripts. */
    async function restricted(user: string, ...channels: string[]): Promise<Redis> {
      const rules = channels.map((channel) => `&${channel}`);
      await f.redis.call('ACL', 'SETUSER', user, 'reset', 'on', '>pw', '~*', 'resetchannels', ...rules, '+@all');
      const redis = createRedis({}, acl.url().replace('redis://', `redis://${user}:pw@`));
      defineCheckedScripts(redis);
      return redis;
    }

    it('an enqueue that takes its window last token is written whole: in the stream, holding its slot', async () => {
      const producer = await restricted('no-channels');
      const reply = await enqueueFlow(f, producer, 't1', RATED);
      expect(reply.entryId).toBeDefined();
      expect(await heldTaskIds(f.redis, f.keys)).toEqual(['t1']);
      expect(await f.redis.hget(f.keys.flow.count, 'job')).toBe('1');
      expect(await f.redis.xlen(f.keys.stream)).toBe(1);
      // Its window's wake is set all the same: a promotion finds it, unannounced.
      expect(await f.redis.zscore(f.keys.flow.wake, 'job')).not.toBeNull();
    });

    it('a removal of an admitted rated run releases its slot: the task waiting for it is admitted', async () => {
      const t1 = (await f.enqueueFlow('t1', RATED_ONE)).entryId!;
      expect((await f.enqueueFlow('t2', RATED_ONE)).entryId).toBeUndefined();
      const producer = await restricted('done-only', f.keys.doneChannel);
      const remove = removeTaskScript(f.keys, { id: 't1', state: 'queued', entryId: t1 }, LEASE_MS);
      expect(await remove.run(producer)).toBe('removed');
      expect(await f.redis.hget(f.keys.flow.count, 'job')).toBeNull();
      await f.promote();
      expect(await heldTaskIds(f.redis, f.keys)).toEqual(['t2']);
      expect((await f.deliver('w')).map(([, fields]) => fields.id)).toEqual(['t2']);
    });
  });

  describe('a stream or delayed set of another type', () => {
    let f: ScriptFixture;
    beforeEach(async () => (f = await new ScriptFixture().setUp()));
    afterEach(() => f.tearDown());
    afterAll(closeAll);

    /** t1 holds the group's one slot, t2 waits behind it; `key` is then made a string. */
    async function t2WaitingAndSpoiled(key: string): Promise<void> {
      expect((await f.enqueueFlow('t1', GROUP_ONE)).entryId).toBeDefined();
      expect((await f.enqueueFlow('t2', GROUP_ONE)).entryId).toBeUndefined();
      await f.redis.multi().del(key).set(key, 'not a stream').exec();
    }

    it('the stream: an enqueue that raises the limits refuses before feeding the room', async () => {
      await t2WaitingAndSpoiled(f.keys.stream);
      const before = await flowWritten(f);
      await expect(enqueueFlow(f, f.redis, 't3', GROUP_TWO)).rejects.toThrow(
        `WRONGTYPE the stream key ${f.keys.stream}`,
      );
      expect(await flowWritten(f)).toEqual(before);
      expect(await waitingTaskIds(f.redis, f.keys)).toEqual(['t2']);
    });

    it('the delayed set: a delayed enqueue that raises the limits refuses before its first write', async () => {
      await t2WaitingAndSpoiled(f.keys.delayed);
      const before = await flowWritten(f);
      await expect(enqueueFlow(f, f.redis, 't3', GROUP_TWO, 60_000)).rejects.toThrow(/WRONGTYPE/);
      expect(await flowWritten(f)).toEqual(before);
    });
  });
});
