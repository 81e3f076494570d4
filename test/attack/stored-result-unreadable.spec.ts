import { producerAppForSuite } from '../fixtures/test-app';
import { createRedis, randomPrefix, subscriberCount, waitFor } from '../utils/redis';

/**
 * A task's result key holds JSON the settle scripts write, and anyone with Redis access can
 * overwrite it. After `SET <result key> x`, JSON.parse threw a SyntaxError out of handle.status()
 * and result() (`null` a TypeError; `5` or `"s"` read as failed with no error); and a done message
 * (`c:<id>`, which anyone can PUBLISH) arriving for it threw inside a promise callback: an
 * unhandled rejection, and result() waited until its timeout (forever with Infinity). A stored
 * result that is not one of the shapes written is now refused with UnreadableResultError (code
 * UNREADABLE_RESULT) naming the task, from status() and result() alike. A review finding; the
 * spec failed.
 */
describe('attack: a stored result that does not read as one', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const t = producerAppForSuite(prefix, redis);
  const unreadable = (id: string) => ({
    name: 'UnreadableResultError',
    code: 'UNREADABLE_RESULT',
    taskId: id,
    message: expect.stringContaining(id),
  });

  it.each(['x', 'null', '5', '"s"', '[]', '{"ok":"yes"}', '{"ok":false,"error":{"name":1,"message":"m"}}'])(
    'status() and result() of an unkeyed task refuse %p with UnreadableResultError',
    async (hostile) => {
      const handle = await t.client.enqueue('echo', 1);
      await redis.set(t.keys.result(handle.id), hostile);
      await expect(handle.status()).rejects.toMatchObject(unreadable(handle.id));
      await expect(handle.result({ timeoutMs: 2_000 })).rejects.toMatchObject(unreadable(handle.id));
    },
  );

  it('result() of a keyed task refuses it too', async () => {
    const handle = await t.client.enqueue('echo', 1, { key: 'k' });
    await redis.set(t.keys.result(handle.id), 'x');
    await expect(handle.result({ timeoutMs: 2_000 })).rejects.toMatchObject(unreadable(handle.id));
  });

  it('a done message for it ends the wait with the error, not a timeout', async () => {
    const handle = await t.client.enqueue('echo', 1);
    const waiting = handle.result({ timeoutMs: 3_000 }).catch((error: unknown) => error);
    await waitFor(async () => (await subscriberCount(redis, t.keys.doneChannel)) > 0);
    await redis.set(t.keys.result(handle.id), 'x');
    await redis.publish(t.keys.doneChannel, `c:${handle.id}`);
    expect(await waiting).toMatchObject(unreadable(handle.id));
  });

  it('the shapes written still read: completed, failed, cancelled, pending', async () => {
    const ids = await Promise.all([1, 2, 3, 4].map(() => t.client.enqueue('echo', 1)));
    await redis.set(t.keys.result(ids[0].id), '{"ok":true,"value":{"a":1}}');
    await redis.set(t.keys.result(ids[1].id), '{"ok":false,"error":{"name":"E","message":"m"}}');
    await redis.set(t.keys.result(ids[2].id), '{"ok":false,"cancelled":true}');
    await redis.set(t.keys.result(ids[3].id), '{"ok":null}');
    await expect(ids[0].result({ timeoutMs: 1_000 })).resolves.toEqual({ a: 1 });
    await expect(ids[1].result({ timeoutMs: 1_000 })).rejects.toMatchObject({ code: 'TASK_FAILED', causeName: 'E' });
    await expect(ids[2].result({ timeoutMs: 1_000 })).rejects.toMatchObject({ code: 'TASK_CANCELLED' });
    await expect(ids[3].status()).resolves.toMatchObject({ state: 'pending' });
  });
});
