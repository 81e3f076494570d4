import { EnqueueManyError } from '../../lib';
import { QueueKeys } from '../../lib/redis/keys';
import { QueuePartitions } from '../../lib/partitions/queue-partitions';
import { partitionOfTaskId } from '../../lib/partitions/task-ids';
import { useAclRedis } from '../fixtures/acl-redis';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp } from '../fixtures/test-app';
import { partitioned } from '../partitions/partition-apps';
import { createRedis, randomPrefix } from '../utils/redis';

const outcome = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    (value) => value,
    (error: unknown) => error,
  );

/**
 * Attack on enqueue-many.lua, which writes a chunk of unkeyed tasks (an enqueueMany() batch, or
 * single enqueue() calls coalesced by group commit) due now by XADD and delayed by ZADD. It wrote
 * them in turn, so when the second key refused (a key of another type: anyone with Redis access
 * can make one), Redis kept the first tasks (a script is not rolled back) and the call answered
 * an error: enqueueMany() reported every item of the chunk not written, and a resend of `failed`,
 * as the README advises, ran the written ones twice; a group commit told a caller whose task
 * was written that it failed, because another caller's task was delayed. Now every refusal comes
 * before the first write: the call writes nothing.
 */
describe('attack: a script call of unkeyed tasks refused after its first write', () => {
  const env = useProbeApps();

  it('enqueueMany(): a due-now item, then a delayed one, the delayed set of another type: nothing written', async () => {
    const t = await startApp({ prefix: env.prefix, options: { worker: false } });
    await env.redis.set(t.keys.delayed, 'x');
    const error = await outcome(
      t.client.enqueueMany([
        { name: 'echo', payload: 'now' },
        { name: 'echo', payload: 'later', options: { delayMs: 60_000 } },
      ]),
    );
    expect(error).toBeInstanceOf(EnqueueManyError);
    expect((error as EnqueueManyError).failed.map((f) => f.index)).toEqual([0, 1]);
    expect(await env.redis.xlen(t.keys.stream)).toBe(0);
    expect(await env.redis.get(t.keys.delayed)).toBe('x');
  });

  it('enqueueMany(): a delayed item, then a due-now one, the stream of another type: nothing written', async () => {
    const t = await startApp({ prefix: env.prefix, options: { worker: false } });
    await env.redis.set(t.keys.stream, 'x');
    const error = await outcome(
      t.client.enqueueMany([
        { name: 'echo', payload: 'later', options: { delayMs: 60_000 } },
        { name: 'echo', payload: 'now' },
      ]),
    );
    expect((error as EnqueueManyError).failed.map((f) => f.index)).toEqual([0, 1]);
    expect(await env.redis.exists(t.keys.delayed)).toBe(0);
    expect(await env.redis.get(t.keys.stream)).toBe('x');
  });

  it('group commit: a task due now told it failed is not written, whatever the task coalesced with it', async () => {
    // Two partitions: unkeyed enqueues alternate, and those of partition 1 go by enqueue-many.lua
    // (its layout check), delayed ones too. Every delayed set is a string.
    const t = await startApp({ prefix: env.prefix, options: partitioned(2, { worker: false }) });
    const partitions = new QueuePartitions(env.prefix, 'default', 2);
    for (const keys of partitions.all) await env.redis.set(keys.delayed, 'x');
    // Round-robin from a random start: enqueued until the last one went to partition 1.
    const warmUps = ['warm-up'];
    while (partitionOfTaskId((await t.client.enqueue('echo', warmUps[0])).id) !== 1) warmUps.push('warm-up');
    // The first call (partition 0) is written at once, alone; the next three wait for its reply
    // and leave together, one group per partition: the due-now and the delayed task of partition
    // 1 in one script call, and a due-now task alone on partition 0.
    const first = t.client.enqueue('echo', 'first');
    const calls = [
      outcome(t.client.enqueue('echo', 'now')),
      outcome(t.client.enqueue('echo', 'filler')),
      outcome(t.client.enqueue('echo', 'later', { delayMs: 60_000 })),
    ];
    await first;
    const [now, filler, later] = await Promise.all(calls);
    expect(filler).toHaveProperty('id');
    expect(later).toBeInstanceOf(Error);
    expect((later as Error).message).toMatch(/^WRONGTYPE/);
    // 'now' shared its script call with 'later': told it failed, it must not have been written.
    const written = (await Promise.all(partitions.all.map((keys) => env.redis.xrange(keys.stream, '-', '+')))).flatMap(
      (entries) => entries.map(([, f]) => JSON.parse(f[f.indexOf('p') + 1]) as string),
    );
    expect(now).toBeInstanceOf(Error);
    expect(written.sort()).toEqual(['filler', 'first', ...warmUps]);
  });
});

describe('attack: a script call of unkeyed tasks whose notice to the workers an ACL refuses', () => {
  const acl = useAclRedis('enqueue-many-part-written');

  it('enqueueMany(): PUBLISH refused after the tasks were written reported them not written; now nothing is', async () => {
    const prefix = randomPrefix();
    const url = await acl.userDenied('producer', 'publish');
    const t = await startApp({ prefix, options: { worker: false, connection: { url } } });
    const error = await outcome(
      t.client.enqueueMany([
        { name: 'echo', payload: 'now' },
        { name: 'echo', payload: 'later', options: { delayMs: 60_000 } },
      ]),
    );
    expect((error as EnqueueManyError).failed.map((f) => f.index)).toEqual([0, 1]);
    expect((error as EnqueueManyError).failed[0].error.message).toMatch(/can't run this command/);
    const admin = createRedis({}, acl.url());
    const keys = new QueueKeys(prefix, 'default');
    expect([await admin.xlen(keys.stream), await admin.zcard(keys.delayed)]).toEqual([0, 0]);
  });

  it('enqueue() of a delayed task: PUBLISH refused after its ZADD reported it not written; now it is not', async () => {
    const prefix = randomPrefix();
    const url = await acl.userDenied('producer', 'publish');
    const t = await startApp({ prefix, options: { worker: false, connection: { url } } });
    await expect(t.client.enqueue('echo', 'later', { delayMs: 60_000 })).rejects.toThrow(/can't run this command/);
    const admin = createRedis({}, acl.url());
    expect(await admin.zcard(new QueueKeys(prefix, 'default').delayed)).toBe(0);
  });
});
