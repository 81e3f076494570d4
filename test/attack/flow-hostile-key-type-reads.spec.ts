import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadLuaSource } from '../../lib/redis/lua-source';
import type { FlowKeys } from '../../lib/redis/keys';
import type { FlowLimits } from '../../lib/scripts/enqueue-flow.script';
import { flowTaskOf } from '../../lib/client/flow-task-lookup';
import { QueueInspector } from '../../lib/client/queue-inspector';
import { readDueScript } from '../../lib/scripts/promote.script';
import { queueStateScript } from '../../lib/scripts/queue-state.script';
import { settledStateScript } from '../../lib/scripts/settled-state.script';
import { closeAll } from '../utils/helpers';
import { ScriptFixture } from '../scripts/script-fixture';

/** groupConcurrency 1: t2 waits behind t1 in its group. */
const GROUP_ONE: FlowLimits = { global: 0, group: 1, agingMs: 1000 };

/**
 * Review: the writing scripts refuse a flow key of the wrong type naming it
 * (flow-hostile-key-type.spec.ts), but the read-only ones failed with Redis's bare "WRONGTYPE
 * Operation against a key holding the wrong kind of value", naming no key: a flow task's
 * status() and result() (settled-state.lua, flow:tasks), the promoter's read of the due tasks
 * (read-due.lua, flow:wake), the queue's state (queue-state.lua, flow:room and flow:tasks), and
 * the listing of the queued tasks and a lookup by id (flow:room, flow:tasks).
 * An operator could not tell which key to repair. They now name it the same way, its TYPE read
 * only once the read failed (nothing more on the success path).
 */
describe('attack: a flow key of the wrong type, met by a read', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const spoil = async (name: keyof FlowKeys) => {
    const key = f.keys.flow[name];
    await f.redis.multi().del(key).rpush(key, 'not a flow key').exec();
  };
  const refusal = (name: keyof FlowKeys, held: string, want: string) =>
    `WRONGTYPE the flow key ${f.keys.flow[name]} holds a ${held}, not a ${want}`;

  it("flow:tasks: a waiting flow task's status read names the key", async () => {
    await f.enqueueFlow('t1', GROUP_ONE);
    await f.enqueueFlow('t2', GROUP_ONE);
    await spoil('tasks');
    await expect(settledStateScript(f.keys, { id: 't2', waited: true }).run(f.redis)).rejects.toThrow(
      refusal('tasks', 'list', 'hash'),
    );
  });

  it('flow:wake: the read of the due tasks names the key', async () => {
    await spoil('wake');
    await expect(readDueScript(f.keys, { limit: 10 }).run(f.redis)).rejects.toThrow(refusal('wake', 'list', 'zset'));
  });

  it('flow:room: the queue state names the key', async () => {
    await spoil('room');
    await expect(queueStateScript(f.keys, { countLimit: 100 }).run(f.redis)).rejects.toThrow(
      refusal('room', 'list', 'zset'),
    );
  });

  it('flow:tasks: the queue state, reading a waiting task’s entry time, names the key', async () => {
    await f.enqueueFlow('t1', GROUP_ONE);
    await f.enqueueFlow('t2', GROUP_ONE);
    await spoil('tasks');
    await expect(queueStateScript(f.keys, { countLimit: 100 }).run(f.redis)).rejects.toThrow(
      refusal('tasks', 'list', 'hash'),
    );
  });

  it('flow:room: the listing of the queued tasks names the key', async () => {
    await spoil('room');
    await expect(new QueueInspector(f.redis).queued(f.keys, { limit: 10 })).rejects.toThrow(
      refusal('room', 'list', 'zset'),
    );
  });

  it("flow:tasks: a flow task's lookup by id names the key", async () => {
    await f.enqueueFlow('t1', GROUP_ONE);
    await spoil('tasks');
    await expect(flowTaskOf(f.redis, new QueueInspector(f.redis), f.keys, 't1')).rejects.toThrow(
      refusal('tasks', 'list', 'hash'),
    );
  });

  it("flow:room: a waiting flow task's lookup by id names the key", async () => {
    await f.enqueueFlow('t1', GROUP_ONE);
    await f.enqueueFlow('t2', GROUP_ONE);
    await spoil('room');
    await expect(flowTaskOf(f.redis, new QueueInspector(f.redis), f.keys, 't2')).rejects.toThrow(
      refusal('room', 'list', 'zset'),
    );
  });

  it('flowRead passes any other error on as Redis gave it', async () => {
    // A script of its own over the shipped include: a ZRANGE Redis refuses on a zset.
    const dir = mkdtempSync(join(tmpdir(), 'flow-read-'));
    symlinkSync(join(__dirname, '../../lib/scripts/includes'), join(dir, 'includes'));
    writeFileSync(
      join(dir, 'probe.lua'),
      "-- @include flow-key-type\nreturn flowRead('zset', 'ZRANGE', KEYS[1], 'x', '1')\n",
    );
    await f.redis.zadd(f.keys.flow.room, 0, 'm');
    await expect(f.redis.eval(loadLuaSource('probe', dir), 1, f.keys.flow.room)).rejects.toThrow(
      /^ERR value is not an integer or out of range/,
    );
  });

  it('the keys of their type: the reads answer as before', async () => {
    await f.enqueueFlow('t1', GROUP_ONE);
    await f.enqueueFlow('t2', GROUP_ONE);
    expect((await settledStateScript(f.keys, { id: 't2', waited: true }).run(f.redis)).waitRecord).toBe(true);
    expect((await readDueScript(f.keys, { limit: 10 }).run(f.redis)).members).toEqual([]);
    expect((await queueStateScript(f.keys, { countLimit: 100 }).run(f.redis)).waitingForSlot).toBe(1);
    const page = await new QueueInspector(f.redis).queued(f.keys, { limit: 10 });
    expect(page.tasks.map((t) => t.id)).toEqual(['t1', 't2']);
    expect(await flowTaskOf(f.redis, new QueueInspector(f.redis), f.keys, 't2')).toMatchObject({ id: 't2' });
  });
});
