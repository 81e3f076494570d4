import type { StreamQueueEvent } from '../../lib';
import { InFlight } from '../../lib/consumer/in-flight';
import { Slots } from '../../lib/consumer/slots';
import { Sweeper } from '../../lib/consumer/sweeper';
import { settleContext } from '../fixtures/settle-context';
import { useSpecRedis } from '../utils/helpers';

/**
 * Review finding: a `reclaimed` event carried the entry id alone (in `detail`), so a subscriber
 * following a task (`e.taskId === id`, in process or through `events()`) never saw its run taken
 * over from a dead worker. It names the task as the other events do, read from the entry's
 * fields as the scripts read them (a packed entry unpacked).
 */
describe('attack: the reclaimed event of a dead worker’s run', () => {
  const { prefix, redis } = useSpecRedis();

  it('carries the task id, name and key, and the entry id as detail', async () => {
    const { ctx, keys } = await settleContext(redis, prefix);
    const sweeper = new Sweeper({ ...ctx, inFlight: new InFlight(), slots: new Slots(4) });
    const flat = await redis.xadd(keys.stream, '*', 'id', 't1', 'n', 'job', 'p', '1', 'k', 'key-1');
    // As flow.lua admits a waiting task: its fields packed in j, after id and fl.
    const packed = await redis.xadd(
      keys.stream,
      '*',
      'id',
      't2',
      'fl',
      '1',
      'j',
      JSON.stringify(['id', 't2', 'n', 'other', 'p', '2', 'k', 'key-2']),
    );
    await redis.xreadgroup('GROUP', ctx.group, 'dead-worker', 'STREAMS', keys.stream, '>'); // no liveness key
    const seen: StreamQueueEvent[] = [];
    ctx.events.on('reclaimed', (e) => void seen.push(e));

    const { entries } = await sweeper.sweep();

    expect(entries.map(([id]) => id)).toEqual([flat, packed]);
    expect(seen).toEqual([
      { type: 'reclaimed', queue: 'q', taskId: 't1', name: 'job', key: 'key-1', detail: flat },
      { type: 'reclaimed', queue: 'q', taskId: 't2', name: 'other', key: 'key-2', detail: packed },
    ]);
  });
});
