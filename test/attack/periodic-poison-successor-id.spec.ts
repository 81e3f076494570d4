import { parseEntry } from '../../lib/task/task-message';
import { partitionOfTaskId } from '../../lib/partitions/task-ids';
import { QueueKeys } from '../../lib/redis/keys';
import { closeAll } from '../utils/redis';
import { GROUP, ScriptFixture } from '../scripts/script-fixture';

/**
 * Attack on the successor of a periodic run dead-lettered by dead-letter.lua (poison past
 * maxDeliveries, as a handler that kills or stalls its worker at every slot is; or malformed).
 * The README: such a run "still schedules the next slot", and the chain goes on. Its successor's
 * id was '<task id>~<entry id>': 16 characters longer at each such slot, so after 14 of them
 * (36 + 14 * 16 > 256) the chain's run had an id past MAX_ID_LENGTH, which every worker
 * dead-letters as malformed, without running it, and that successor again, for ever: the chain
 * never ran its handler again, also once the cause of the poison was gone (a boot of the same
 * definition leaves a live chain alone). And on partition p the id lost its '~p' suffix, so a
 * handle rebuilt from it read partition 0.
 */
describe('attack: the successor of a dead-lettered periodic run', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  it('after 20 poison slots in a row, the chain still has a run a worker takes', async () => {
    const key = 'periodic:job';
    await f.enqueue({ key, periodic: true, id: '7d3c0a3e-2f0e-4a53-9a33-6c9a6b0f4a11' });
    await f.redis.hset(f.keys.keyState(key), 'sk', 'every', 'every', '60000');
    for (let slot = 0; slot < 20; slot += 1) {
      // The slot's run, due now: moved into the stream as the promoter would.
      const [member] = await f.redis.zrange(f.keys.delayed, 0, -1);
      if (member) {
        await f.redis.zadd(f.keys.delayed, 0, member);
        await f.promote();
      }
      const [[entry, fields]] = await f.deliver('w1');
      // Taken back too often (its worker died each time): dead-lettered as poison.
      await f.redis.xclaim(f.keys.stream, GROUP, 'sweeper', 0, entry);
      const verdict = await f.deadLetter('sweeper', entry, 'poison', { id: fields.id, key, timing: { e: 60000 } });
      expect(verdict).toBe('dead-lettered');
      const state = await f.keyState(key);
      expect(state.state).toBe('delayed');
      // The successor a worker will read: well formed (not dead-lettered as malformed, unrun).
      const [next] = await f.redis.zrange(f.keys.delayed, 0, -1);
      const { id } = JSON.parse(next) as { id: string };
      const parsed = parseEntry('1-0', ['id', id, 'n', 'job', 'p', '{}', 'k', key, 'g', state.gen, 'd', '1']);
      expect({ slot, reason: (parsed as { reason?: string }).reason }).toEqual({ slot, reason: undefined });
    }
  });

  it('keeps the partition its id says (a handle rebuilt from it reads the right one)', async () => {
    // A runtime schedule's run in partition 3: its ids end in '~3' (task-ids.ts).
    await f.tearDown();
    f = await new PartitionFixture().setUp();
    const key = 'reminder:1';
    await f.enqueue({ key, periodic: true, id: '7d3c0a3e-2f0e-4a53-9a33-6c9a6b0f4a11~3' });
    await f.redis.hset(f.keys.keyState(key), 'sk', 'every', 'every', '60000', 'rt', '1');
    const [[entry, fields]] = await f.deliver('w1');
    await f.redis.xclaim(f.keys.stream, GROUP, 'sweeper', 0, entry);
    expect(await f.deadLetter('sweeper', entry, 'poison', { id: fields.id, key, timing: { e: 60000 } })).toBe(
      'dead-lettered',
    );
    const [next] = await f.redis.zrange(f.keys.delayed, 0, -1);
    expect(partitionOfTaskId((JSON.parse(next) as { id: string }).id)).toBe(3);
  });
});

/** The fixture on partition 3 of its queue. */
class PartitionFixture extends ScriptFixture {
  override readonly keys = new QueueKeys(this.prefix, 'q', 3);
}
