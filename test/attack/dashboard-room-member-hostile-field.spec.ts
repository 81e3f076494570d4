import { QueueClient } from '../../lib';
import { QueueKeys } from '../../lib/redis/keys';
import { dashboardAppForSuite } from '../fixtures/dashboard-app';
import { createRedis, randomPrefix } from '../utils/redis';

/**
 * A waiting-room member's fields are read as a JSON array of strings, each item turned into a
 * string with String(). Anyone with Redis access can ZADD the room: an item that is an object
 * with a "toString" key that is no function (`{"toString":1}`) made String() throw a TypeError,
 * so the dashboard's Queued tab answered 500 for the whole queue, hiding every queued task, and
 * inspecting that task answered 500 too. Such an item is now read as its JSON text, and the
 * member is listed as what it is (a review finding; both requests failed with 500).
 */
describe('attack: a room member with a field no String() takes', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const keys = new QueueKeys(prefix, 'default');
  const dash = dashboardAppForSuite(prefix, redis);
  const rank = '0'.repeat(32);

  it('lists the queue and inspects the member instead of answering 500', async () => {
    const plain = await dash.app.get(QueueClient).enqueue('echo', 'plain', { queue: 'default' });
    const fields = '["id","t-hostile","n","echo","p",{"toString":1}]';
    await redis.zadd(keys.flow.room, 0, `echo\0\0${rank}\0t-hostile\0${fields}`);
    await redis.hset(keys.flow.tasks, 't-hostile', `\0echo\0\0${rank}`);

    const list = await fetch(`${dash.base}/tasks?state=queued`);
    expect(list.status).toBe(200);
    const page = (await list.json()) as { tasks: { id?: string; waitingForSlot?: boolean; payload?: string }[] };
    expect(page.tasks.map((t) => [t.id, t.waitingForSlot === true])).toEqual([
      [plain.id, false],
      ['t-hostile', true],
    ]);
    expect(page.tasks[1].payload).toBe('{"toString":1}');

    const inspect = await fetch(`${dash.base}/tasks/t-hostile`);
    expect(inspect.status).toBe(200);
    expect(((await inspect.json()) as { task: { id: string } }).task.id).toBe('t-hostile');
  });
});
