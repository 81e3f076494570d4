import { InvalidOptionError, TaskCancelledError, TaskNotFoundError, TaskRunningError } from '../../lib';
import { removeTaskScript } from '../../lib/scripts/remove-task.script';
import { RedisConnections } from '../../lib/redis/redis-connections';
import { CONSUMER_GROUP } from '../../lib/stream-queue.constants';
import { Latch, useSpecRedis } from '../utils/helpers';
import { echoBlockedBy } from '../fixtures/probe';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { cleanupPrefix, waitFor } from '../utils/redis';

// QueueClient's fleet-wide reads: what Redis holds, whichever worker holds it.
describe('fleet reads: inspect, listings, remove', () => {
  const { prefix, redis } = useSpecRedis();
  let t: TestApp;
  let gate: Latch;

  beforeEach(async () => {
    await cleanupPrefix(redis, prefix);
    gate = new Latch();
    // Two slots: two blocked runs fill them, so later enqueues stay waiting in the stream.
    t = await startApp({ prefix, options: { concurrency: 2 } });
    t.probe.on('echo', echoBlockedBy(gate));
    t.probe.on('once', () => {
      throw new Error('boom');
    });
  });
  afterEach(async () => {
    gate.open();
    await closeApps();
  });

  async function fill(): Promise<{ waiting: string[]; delayed: string[]; running: string[] }> {
    const dead = await t.client.enqueue('once', { n: 0 });
    await expect(dead.result()).rejects.toThrow('boom');
    const running = [await t.client.enqueue('echo', 'block'), await t.client.enqueue('echo', 'block')];
    await waitFor(async () => (await t.client.counts()).running === 2, { description: 'two runs' });
    const waiting = [];
    for (let i = 0; i < 3; i++) waiting.push(await t.client.enqueue('echo', { i }));
    const delayed = [];
    for (let i = 0; i < 3; i++) delayed.push(await t.client.enqueue('echo', { d: i }, { delayMs: 60_000 + i }));
    return { waiting: waiting.map((h) => h.id), delayed: delayed.map((h) => h.id), running: running.map((h) => h.id) };
  }

  it('inspect() reports depth, delayed, running, dead letters, oldest age and live consumers', async () => {
    await fill();
    const state = await t.client.inspect();
    expect(state).toMatchObject({
      queue: 'default',
      waiting: 3,
      waitingExact: true,
      delayed: 3,
      running: 2,
      deadLettered: 1,
    });
    expect(state.oldestWaitingMs).toBeGreaterThanOrEqual(0);
    expect(state.nextDueInMs).toBeGreaterThan(50_000);
    expect(state.added).toBe(6); // the dead one, two running, three waiting
    expect(state.consumers).toEqual([
      expect.objectContaining({ pending: 2, alive: true, name: expect.stringContaining(String(process.pid)) }),
    ]);
    expect(state.consumers[0].leaseLeftMs).toBeGreaterThan(0);
    expect(state.unlistedConsumers).toBe(0);
    // counts() is the same snapshot without the consumers.
    const { consumers: _c, unlistedConsumers: _u, ...counts } = state;
    expect(await t.client.counts()).toMatchObject({
      ...counts,
      oldestWaitingMs: expect.any(Number),
      nextDueInMs: expect.any(Number),
    });
  });

  it('lists each state in pages with a cursor, in order', async () => {
    const ids = await fill();
    const first = await t.client.list('queued', { limit: 2 });
    expect(first.tasks.map((x) => x.id)).toEqual(ids.waiting.slice(0, 2));
    expect(first.cursor).not.toBeNull();
    const second = await t.client.list('queued', { limit: 2, cursor: first.cursor! });
    expect(second.tasks.map((x) => x.id)).toEqual(ids.waiting.slice(2));
    expect(second.cursor).toBeNull();
    expect(first.tasks[0]).toMatchObject({ state: 'queued', name: 'echo', payload: '{"i":0}', attempt: 1 });

    const d1 = await t.client.list('delayed', { limit: 2 });
    const d2 = await t.client.list('delayed', { limit: 2, cursor: d1.cursor! });
    expect([...d1.tasks, ...d2.tasks].map((x) => x.id)).toEqual(ids.delayed);
    expect(d1.tasks[0].dueAt).toBeInstanceOf(Date);

    const running = await t.client.list('running');
    expect(running.tasks.map((x) => x.id).sort()).toEqual([...ids.running].sort());
    expect(running.tasks[0]).toMatchObject({ workerAlive: true, deliveries: 1, payload: '"block"' });

    const dead = await t.client.list('dead');
    expect(dead.tasks).toEqual([expect.objectContaining({ name: 'once', reason: expect.stringContaining('boom') })]);
  });

  it('removes a queued and a delayed task by id; refuses a running one and an unknown one, changing nothing', async () => {
    const ids = await fill();
    await t.client.remove(ids.waiting[1]);
    await t.client.remove(ids.delayed[0]);
    expect((await t.client.list('queued')).tasks.map((x) => x.id)).toEqual([ids.waiting[0], ids.waiting[2]]);
    expect((await t.client.list('delayed')).tasks.map((x) => x.id)).toEqual(ids.delayed.slice(1));

    await expect(t.client.remove(ids.running[0])).rejects.toBeInstanceOf(TaskRunningError);
    await expect(t.client.remove(ids.waiting[1])).rejects.toBeInstanceOf(TaskNotFoundError);
    expect(await t.client.counts()).toMatchObject({ waiting: 2, delayed: 2, running: 2 });
  });

  it('removing a keyed task ends its key as a cancel does: waiters hear it, the key takes a new run', async () => {
    const handle = await t.client.enqueue('echo', 'later', { key: 'k1', delayMs: 60_000 });
    await t.client.remove(handle.id);
    await expect(handle.result({ timeoutMs: 2_000 })).rejects.toBeInstanceOf(TaskCancelledError);
    expect(await t.client.status('k1')).toMatchObject({ state: 'cancelled', id: handle.id });
    const next = await t.client.enqueue('echo', 'now', { key: 'k1' });
    expect(next.id).not.toBe(handle.id);
    await expect(next.result()).resolves.toBe('now');
  });

  // The locate-then-remove window: a worker reads the entry after remove() found it waiting.
  it('remove-task.lua refuses an entry a worker read after it was located (control: it was waiting)', async () => {
    await fill();
    const [task] = (await t.client.list('queued', { limit: 1 })).tasks;
    const commands = t.app.get(RedisConnections).commands;
    // Another worker reads it in the window, as a blocking read would.
    await redis.xreadgroup('GROUP', CONSUMER_GROUP, 'intruder', 'COUNT', 1, 'STREAMS', t.keys.stream, '>');
    expect(await removeTaskScript(t.keys, { ...task, id: task.id!, state: 'queued' }, 1000).run(commands)).toBe(
      'running',
    );
    expect(await redis.xrange(t.keys.stream, task.entryId!, task.entryId!)).toHaveLength(1);
    const [other] = (await t.client.list('queued', { limit: 1 })).tasks;
    expect(await removeTaskScript(t.keys, { ...other, id: other.id!, state: 'queued' }, 1000).run(commands)).toBe(
      'removed',
    );
  });

  it('validates paging, states, ids and queue names before touching Redis', async () => {
    const bad: [() => unknown, string][] = [
      [() => t.client.list('bogus' as never), 'state'],
      [() => t.client.list('queued', { limit: 0 }), 'limit'],
      [() => t.client.list('queued', { limit: 501 }), 'limit'],
      [() => t.client.list('queued', { limit: 1.5 }), 'limit'],
      [() => t.client.list('queued', { cursor: 'abc' }), 'cursor'],
      [() => t.client.list('delayed', { cursor: '1-0' }), 'cursor'],
      [() => t.client.list('dead', { queue: 'no spaces' }), 'queue'],
      [() => t.client.remove(''), 'id'],
      [() => t.client.redrive('nope'), 'deadLetterId'],
      [() => t.client.purgeDeadLetters({ ids: [] }), 'ids'],
      [() => t.client.purgeDeadLetters({ ids: ['x'] }), 'ids[0]'],
      [() => t.client.inspect('a b'), 'queue'],
    ];
    for (const [call, option] of bad) {
      let error: unknown;
      try {
        await call();
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect((error as InvalidOptionError).option).toBe(option);
    }
  });
});
