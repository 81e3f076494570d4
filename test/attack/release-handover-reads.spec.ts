import type { Redis } from 'ioredis';
import { QueueKeys } from '../../lib/redis/keys';
import { enqueueFlowScript, type FlowLimits } from '../../lib/scripts/enqueue-flow.script';
import { CONSUMER_GROUP } from '../../lib/stream-queue.constants';
import { completeFlowRun, completeFlowRuns, useLoggingScripts } from '../fixtures/counting-scripts';
import { heldTaskIds } from '../fixtures/flow-state';

/**
 * What the release fast path reads (issue 11's groups drain: each settle of a busy group hands
 * its slot to the group's next task). A pair with waiting tasks is out of the ring only while its
 * group holds its limit, so the handover need not read the group's count, one command of the 8
 * an admitted task cost. It must read it after the task's limits changed: a group may then hold
 * more than its limit (lowered; release-fast-path-group-limit.spec.ts) or less (raised).
 */
describe('attack: the release fast path reads the group count only after a change of limits', () => {
  const logging = useLoggingScripts();
  const { prefix, log } = logging;
  let redis: Redis;
  beforeAll(() => (redis = logging.redis()));

  const two: FlowLimits = { global: 0, group: 2, agingMs: 1000 };
  let queues = 0;

  /** A group G at its limit of 2 with one task waiting; returns the keys and the held runs' entries. */
  const fullGroup = async () => {
    const keys = new QueueKeys(prefix, `q${++queues}`);
    await redis.xgroup('CREATE', keys.stream, CONSUMER_GROUP, '0', 'MKSTREAM');
    const enqueue = (id: string, limits: FlowLimits, group = 'G') =>
      enqueueFlowScript(keys, { id, name: 'job', payload: '{}', delayMs: 0, runAt: 0, group, limits }).run(redis);
    for (const id of ['a', 'b', 'c']) await enqueue(id, two);
    const read = (await redis.xreadgroup('GROUP', CONSUMER_GROUP, 'a', 'STREAMS', keys.stream, '>')) as [
      string,
      [string, string[]][],
    ][];
    const entryOf = (id: string) => read[0][1].find(([, fields]) => fields[fields.indexOf('id') + 1] === id)![0];
    return { keys, enqueue, entryOf };
  };

  /** The flow keys' commands of one complete of run `id`. */
  const releaseReads = async (keys: QueueKeys, entryId: string, id: string): Promise<string[]> => {
    await redis.del(log);
    expect(await completeFlowRun(redis, keys, entryId, id)).toEqual(['completed']);
    const flowKey = `${keys.tag}:flow:`;
    return (await redis.lrange(log, 0, -1)).filter((c) => c.includes(flowKey)).map((c) => c.replace(flowKey, ''));
  };

  it('hands a full group’s slot to its next task without reading the count', async () => {
    const { keys, entryOf } = await fullGroup();
    expect(await releaseReads(keys, entryOf('a'), 'a')).toEqual([
      // once per script call, before its first write: each flow key's type (flow-hostile-key-type.spec.ts);
      // the answers tell the releases whether the room, ring, starts and parked exist
      // (a room known empty costs them no lex range: unbound-limit-lookups.spec.ts)
      ...['tasks', 'count', 'limits', 'room', 'ring', 'ringed', 'starts', 'wake', 'parked', 'entered'].map(
        (key) => `TYPE ${key}`,
      ),
      // the batch's holds, in one read
      'HMGET tasks',
      'HMGET limits',
      'ZRANGEBYLEX room',
      // appended (its XADD, not a flow key), then out of the room: a stream that refuses it
      // leaves it waiting (flow-admission-stream-out-of-ids.spec.ts)
      'ZREM room',
      // the batch's writes of tasks and entered, once each after its releases
      // (includes/flow-writes.lua): the released hold, the admitted one, and its entry time in
      // the room (the oldest waiting age: waiting-room-age.spec.ts)
      'HDEL tasks',
      'HSET tasks',
      'ZREM entered',
    ]);
    expect(await heldTaskIds(redis, keys)).toEqual(['b', 'c']);
  });

  it('reads and writes tasks and entered once for a whole batch of releases, whatever its size', async () => {
    const keys = new QueueKeys(prefix, `q${++queues}`);
    await redis.xgroup('CREATE', keys.stream, CONSUMER_GROUP, '0', 'MKSTREAM');
    const groups = ['G1', 'G2', 'G3', 'G4', 'G5'];
    // Each group at its limit of 2 (a1, b1 of G1 ...) with one task waiting (c1 ...).
    for (const tag of ['a', 'b', 'c'])
      for (const [i, group] of groups.entries())
        await enqueueFlowScript(keys, {
          id: `${tag}${i}`,
          name: 'job',
          payload: '{}',
          delayMs: 0,
          runAt: 0,
          group,
          limits: two,
        }).run(redis);
    const read = (await redis.xreadgroup('GROUP', CONSUMER_GROUP, 'a', 'STREAMS', keys.stream, '>')) as [
      string,
      [string, string[]][],
    ][];
    const firsts = read[0][1].filter(([, fields]) => fields[fields.indexOf('id') + 1].startsWith('a'));
    await redis.del(log);
    const verdicts = await completeFlowRuns(
      redis,
      keys,
      firsts.map(([entryId, fields]) => [entryId, fields[fields.indexOf('id') + 1]] as const),
    );
    expect(verdicts).toEqual(groups.map(() => 'completed'));
    const flowKey = `${keys.tag}:flow:`;
    const commands = (await redis.lrange(log, 0, -1))
      .filter((c) => c.includes(flowKey))
      .map((c) => c.replace(flowKey, ''));
    const times = (command: string) => commands.filter((c) => c === command).length;
    // Five releases, each admitting its group's next task: one read of the holds, one write of each.
    expect({
      hmget: times('HMGET tasks'),
      hget: times('HGET tasks'),
      hdel: times('HDEL tasks'),
      hset: times('HSET tasks'),
      zremEntered: times('ZREM entered'),
      zremRoom: times('ZREM room'),
    }).toEqual({ hmget: 1, hget: 0, hdel: 1, hset: 1, zremEntered: 1, zremRoom: 5 });
    expect(await heldTaskIds(redis, keys)).toEqual(groups.flatMap((_, i) => [`b${i}`, `c${i}`]).sort());
    expect(await redis.zcard(keys.flow.entered)).toBe(0);
  });

  it('settles an entry a batch names twice once: its slot is released once', async () => {
    const { keys, enqueue, entryOf } = await fullGroup();
    await enqueue('d', two); // G holds a and b; c and d wait
    const run = [entryOf('a'), 'a'] as const;
    const verdicts = await completeFlowRuns(redis, keys, [run, run]);
    // Released twice, a's slot would have passed to c and d both: G holding 3 under its limit of 2.
    expect(verdicts).toEqual(['completed', 'not-pending']);
    expect(await heldTaskIds(redis, keys)).toEqual(['b', 'c']);
    expect(await redis.hget(keys.flow.count, 'job\0G')).toBe('2');
  });

  it('reads the count after a change of the limits, until none of the task’s runs is held', async () => {
    const { keys, enqueue, entryOf } = await fullGroup();
    await enqueue('h', { ...two, group: 3 }, 'H'); // a new definition, recorded by group H's enqueue: c admitted
    await enqueue('x', { ...two, group: 3 }); // G holds 3, its new limit: x waits
    expect(await releaseReads(keys, entryOf('a'), 'a')).toContain('HGET count');
    expect(await heldTaskIds(redis, keys)).toEqual(['b', 'c', 'h', 'x']);
    // Every run settles: the mark goes with the task's last held run, and the next handover is lean.
    const read = (await redis.xreadgroup('GROUP', CONSUMER_GROUP, 'a', 'STREAMS', keys.stream, '>')) as [
      string,
      [string, string[]][],
    ][];
    for (const [entryId, fields] of read[0][1])
      await completeFlowRun(redis, keys, entryId, fields[fields.indexOf('id') + 1]);
    await completeFlowRun(redis, keys, entryOf('b'), 'b');
    expect(await heldTaskIds(redis, keys)).toEqual([]);
    expect(await redis.hkeys(keys.flow.limits)).not.toContain('\0changed\0job');
    await enqueue('d', { ...two, group: 3 });
    await enqueue('e', { ...two, group: 3 });
    await enqueue('f', { ...two, group: 3 });
    await enqueue('g', { ...two, group: 3 }); // G holds d, e, f: its limit; g waits
    const next = (await redis.xreadgroup('GROUP', CONSUMER_GROUP, 'a', 'STREAMS', keys.stream, '>')) as [
      string,
      [string, string[]][],
    ][];
    const [dEntry] = next[0][1].find(([, fields]) => fields.includes('d'))!;
    expect(await releaseReads(keys, dEntry, 'd')).not.toContain('HGET count');
    expect(await heldTaskIds(redis, keys)).toEqual(['e', 'f', 'g']);
  });
});
