import type { Redis } from 'ioredis';
import { QueueKeys } from '../../lib/redis/keys';
import { useAclRedis } from '../fixtures/acl-redis';
import { useProbeApps } from '../fixtures/probe-apps';
import { ledger, RemovalTasksModule } from '../fixtures/removal-tasks';
import { startApp } from '../fixtures/test-app';
import { createRedis, randomPrefix, waitFor } from '../utils/redis';

/** What remove(id) of task `id` may have written: the stream, the delayed set, its result key, its key's state, the room. */
async function written(redis: Redis, keys: QueueKeys, id: string, key = '') {
  const type = async (k: string) => ((await redis.type(k)) === 'string' ? redis.get(k) : undefined);
  return {
    stream: (await type(keys.stream)) ?? (await redis.xrange(keys.stream, '-', '+')),
    delayed: await redis.zrange(keys.delayed, 0, -1, 'WITHSCORES'),
    result:
      (await redis.type(keys.result(id))) === 'hash'
        ? await redis.hgetall(keys.result(id))
        : await redis.get(keys.result(id)),
    state: key ? await redis.hgetall(keys.keyState(key)) : {},
    room: await redis.zrange(keys.flow.room, 0, -1),
    flowTasks: await redis.hgetall(keys.flow.tasks),
  };
}

/**
 * Attack on remove-task.lua (remove(id)): it removed the task (XDEL, ZREM, or its room member),
 * drew its key's generation (INCR) and wrote its state cancelled, then read the task's result key
 * (GET) to mark it cancelled, and told result() waiters ('x:<id>') last. Redis does not roll a
 * script back: a sequence or result key of another type (anyone with Redis access can make one)
 * or a channel an ACL refuses failed the call after the removal, so the caller was told only of
 * an error while the task was gone, its waiters never told and the call's answer not recorded (a
 * resend, or the caller's retry, then answered that no such task was there). Now every refusal
 * comes before the task, its key's state and its result key are touched.
 */
describe('attack: a remove() refused after its first write', () => {
  const env = useProbeApps();

  it('a queued task whose result key is of another type: the task stays and runs', async () => {
    const t = await startApp({ prefix: env.prefix, options: { worker: false } });
    const h = await t.client.enqueue('echo', 'old');
    await env.redis.hset(t.keys.result(h.id), 'x', '1');
    const before = await written(env.redis, t.keys, h.id);
    await expect(t.client.remove(h.id)).rejects.toThrow(/^WRONGTYPE/);
    expect(await written(env.redis, t.keys, h.id)).toEqual(before);
    await env.redis.del(t.keys.result(h.id));
    await startApp({ prefix: env.prefix });
    await expect(h.result({ timeoutMs: 5_000 })).resolves.toBe('old');
  });

  it('a keyed queued task, the sequence not a number: the task stays and runs', async () => {
    const t = await startApp({ prefix: env.prefix, options: { worker: false } });
    const h = await t.client.enqueue('echo', 'old', { key: 'k' });
    const seq = await env.redis.get(t.keys.seq);
    await env.redis.set(t.keys.seq, 'x');
    const before = await written(env.redis, t.keys, h.id, 'k');
    await expect(t.client.remove(h.id)).rejects.toThrow(/not an integer/);
    expect(await written(env.redis, t.keys, h.id, 'k')).toEqual(before);
    await env.redis.set(t.keys.seq, seq!);
    await startApp({ prefix: env.prefix });
    await expect(h.result({ timeoutMs: 5_000 })).resolves.toBe('old');
  });
});

describe('attack: a remove() whose notice an ACL refuses', () => {
  const acl = useAclRedis('remove-part-written');
  beforeEach(() => ledger.reset());
  afterEach(() => ledger.gate.open());

  async function producer(prefix: string) {
    const url = await acl.userWithoutChannels('producer');
    return startApp({ prefix, imports: [RemovalTasksModule], options: { worker: false, connection: { url } } });
  }

  it('a queued task, the done channel refused after the removal: the task stays and runs', async () => {
    const prefix = randomPrefix();
    const admin = createRedis({}, acl.url());
    const keys = new QueueKeys(prefix, 'default');
    const t = await producer(prefix);
    const h = await t.client.enqueue('echo', 'old');
    const before = await written(admin, keys, h.id);
    await expect(t.client.remove(h.id)).rejects.toThrow(/can't publish to the channel/);
    expect(await written(admin, keys, h.id)).toEqual(before);
    const worker = await startApp({ prefix, options: { connection: { url: acl.url() } } });
    await expect(worker.client.handle(h.id, h.toJSON()).result({ timeoutMs: 5_000 })).resolves.toBe('old');
  });

  it('a keyed delayed task, the done channel refused after the removal: the task and its key stay', async () => {
    const prefix = randomPrefix();
    const admin = createRedis({}, acl.url());
    const keys = new QueueKeys(prefix, 'default');
    // Enqueued with every right: a delayed enqueue tells the workers on the control channel.
    const full = await startApp({ prefix, options: { worker: false, connection: { url: acl.url() } } });
    const h = await full.client.enqueue('echo', 'old', { key: 'k', delayMs: 60_000 });
    const t = await producer(prefix);
    const before = await written(admin, keys, h.id, 'k');
    await expect(t.client.remove(h.id)).rejects.toThrow(/can't publish to the channel/);
    expect(await written(admin, keys, h.id, 'k')).toEqual(before);
    await expect(t.client.status('k')).resolves.toMatchObject({ id: h.id, state: 'delayed' });
  });

  it('a task waiting in the flow room, the done channel refused after the removal: it stays and runs', async () => {
    const prefix = randomPrefix();
    const admin = createRedis({}, acl.url());
    const keys = new QueueKeys(prefix, 'default');
    // One slot of 'removal.one', held by a blocked run: the next one waits in the room.
    const worker = await startApp({
      prefix,
      imports: [RemovalTasksModule],
      options: { connection: { url: acl.url() } },
    });
    await worker.client.enqueue('removal.one', { block: true });
    await waitFor(() => ledger.starts.length === 1, { description: 'the slot held' });
    const h = await worker.client.enqueue('removal.one', { value: 'waited' }, { group: 'g' });
    expect((await worker.client.counts()).waitingForSlot).toBe(1);
    const t = await producer(prefix);
    const before = await written(admin, keys, h.id);
    await expect(t.client.remove(h.id)).rejects.toThrow(/can't publish to the channel/);
    expect(await written(admin, keys, h.id)).toEqual(before);
    ledger.gate.open();
    await expect(h.result({ timeoutMs: 5_000 })).resolves.toBe('waited');
  });
});
