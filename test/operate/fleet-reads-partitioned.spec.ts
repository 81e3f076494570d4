import type { Subscription } from 'rxjs';
import { InvalidOptionError, TaskNotFoundError, type FleetEvent, type ListedState, type ListedTask } from '../../lib';
import { storedPartitions } from '../../lib/partitions/stored-partitions';
import { FleetReads } from '../../lib/client/fleet-reads';
import { defineScripts } from '../../lib/redis/scripts';
import type { TestApp } from '../fixtures/test-app';
import { watchedEvents } from '../fixtures/watched-events';
import { partitioned, usePartitionApps } from '../partitions/partition-apps';
import { waitFor } from '../utils/redis';

const P = 4;

// The fleet-wide reads and repairs of a partitioned queue see every partition, not just 0.
describe('fleet reads of a partitioned queue', () => {
  const apps = usePartitionApps();
  const { redis } = apps;
  let subscription: Subscription | undefined;
  afterEach(() => subscription?.unsubscribe());

  /** `n` task keys that map to partition `p`. */
  function keysIn(p: number, n: number): string[] {
    const partitions = apps.partitions(P);
    const found: string[] = [];
    for (let i = 0; found.length < n; i++) if (partitions.forKey(`k${i}`).partition === p) found.push(`k${i}`);
    return found;
  }

  /**
   * One dead letter per partition (keyed 'once' runs, killed by a worker that then stops), then
   * 8 waiting and 1 delayed task per partition from a producer: the worker's group exists, so
   * the waiting ones count as waiting.
   */
  async function fill(): Promise<{ producer: TestApp; waiting: string[]; delayed: string[]; deadKeys: string[] }> {
    apps.probe.on('once', () => {
      throw new Error('boom');
    });
    const worker = await apps.start(partitioned(P));
    const deadKeys = Array.from({ length: P }, (_, p) => keysIn(p, 1)[0]);
    for (const key of deadKeys)
      await expect((await worker.client.enqueue('once', key, { key })).result()).rejects.toThrow('boom');
    await worker.close();
    const producer = await apps.start(partitioned(P, { worker: false }));
    const waiting: string[] = [];
    for (let i = 0; i < 8 * P; i++) waiting.push((await producer.client.enqueue('echo', i)).id);
    const delayed: string[] = [];
    for (let i = 0; i < P; i++) delayed.push((await producer.client.enqueue('echo', i, { delayMs: 60_000 })).id);
    return { producer, waiting, delayed, deadKeys };
  }

  /** Every task of a listing, page by page, and the cursors that led there. */
  async function listAll(t: TestApp, state: ListedState, limit: number) {
    const tasks: ListedTask[] = [];
    const cursors: string[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 100; pages++) {
      const page = await t.client.list(state, { limit, cursor });
      tasks.push(...page.tasks);
      if (!page.cursor) return { tasks, cursors };
      cursors.push((cursor = page.cursor));
    }
    throw new Error('listing did not end');
  }

  it('counts() and inspect() sum every partition', async () => {
    const { producer } = await fill();
    const partitions = apps.partitions(P);
    expect(await Promise.all(partitions.all.map((k) => redis.xlen(k.stream)))).toEqual([8, 8, 8, 8]); // the dead-lettered entries were trimmed
    const counts = await producer.client.counts();
    expect(counts).toMatchObject({
      queue: 'default',
      waiting: 8 * P,
      waitingExact: true,
      delayed: P,
      running: 0,
      deadLettered: P,
      added: 9 * P,
      read: P,
    });
    expect(counts.oldestWaitingMs).toBeGreaterThanOrEqual(0);
    expect(counts.nextDueInMs).toBeGreaterThan(50_000);
    const state = await producer.client.inspect();
    expect(state).toMatchObject({ waiting: 8 * P, delayed: P, deadLettered: P });
    // The one worker read every partition: it is listed once.
    expect(state.consumers).toHaveLength(1);
    expect(state.consumers[0]).toMatchObject({ pending: 0, alive: false });
    // The CLI, which has no config, reads the count from Redis and sees the same.
    defineScripts(redis);
    const cli = new FleetReads(redis, (queue) => storedPartitions(redis, apps.prefix, queue), 60_000);
    expect(await cli.counts()).toMatchObject({ waiting: 8 * P, delayed: P, deadLettered: P });
  });

  it('lists every partition in pages, without duplicates or gaps, whatever the page size', async () => {
    const { producer, waiting, delayed } = await fill();
    for (const limit of [1, 5, 8, 9, 500]) {
      const { tasks, cursors } = await listAll(producer, 'queued', limit);
      expect(tasks.map((t) => t.id).sort()).toEqual([...waiting].sort());
      expect(new Set(tasks.map((t) => t.partition))).toEqual(new Set([0, 1, 2, 3]));
      for (const cursor of cursors) expect(cursor).toMatch(/^p[0-3]:/);
    }
    const dead = await listAll(producer, 'dead', 3);
    expect(dead.tasks.map((t) => t.partition).sort()).toEqual([0, 1, 2, 3]);
    const later = await listAll(producer, 'delayed', 2);
    expect(later.tasks.map((t) => t.id).sort()).toEqual([...delayed].sort());
    // A cursor naming a partition the queue does not have is refused.
    await expect(producer.client.list('queued', { cursor: 'p4:' })).rejects.toThrow(InvalidOptionError);
    await expect(producer.client.list('queued', { cursor: 'p1:nope' })).rejects.toThrow(InvalidOptionError);
  });

  it('finds, removes and redrives tasks of partition 3; redriveAll and purge cover every partition', async () => {
    const { producer, deadKeys } = await fill();
    const p3 = apps.partitions(P).keysFor(3);
    const queued = (await producer.client.list('queued', { limit: 500 })).tasks.find((t) => t.partition === 3)!;
    const later = (await producer.client.list('delayed', { limit: 500 })).tasks.find((t) => t.partition === 3)!;
    expect((await producer.client.findTask(queued.id!)).task).toMatchObject({ id: queued.id, partition: 3 });
    await producer.client.remove(queued.id!);
    await producer.client.remove(later.id!);
    expect(await redis.xlen(p3.stream)).toBe(7);
    expect(await redis.zcard(p3.delayed)).toBe(0);
    await expect(producer.client.remove(queued.id!)).rejects.toThrow(TaskNotFoundError);

    // The dead letter of partition 3 goes back to partition 3's stream, where its key lives.
    const dead = (await producer.client.list('dead')).tasks.find((t) => t.partition === 3)!;
    expect(dead.key).toBe(deadKeys[3]);
    const found = await producer.client.findTask(dead.id!);
    expect(found.task).toMatchObject({ state: 'dead', partition: 3 });
    const entryId = await producer.client.redrive(dead.deadLetterId!);
    expect((await redis.xrange(p3.stream, entryId, entryId))[0][1]).toContain(dead.id);
    expect(await producer.client.status(deadKeys[3])).toMatchObject({ state: 'queued' });

    const two = (await producer.client.list('dead')).tasks.find((t) => t.partition === 2)!;
    expect(await producer.client.purgeDeadLetters({ ids: [two.deadLetterId!] })).toBe(1);
    expect(await producer.client.redriveAll()).toEqual({ redriven: 2, refused: [] });
    expect(await producer.client.counts()).toMatchObject({ deadLettered: 0 });
    // Counted exactly, though entries were deleted past the read position (see queue-state.lua).
    expect(await producer.client.counts()).toMatchObject({ waiting: 8 * P - 1 + 3, waitingExact: true });
    const queuedNow = (await producer.client.list('queued', { limit: 500 })).tasks;
    expect(
      queuedNow
        .filter((t) => t.name === 'once')
        .map((t) => t.partition)
        .sort(),
    ).toEqual([0, 1, 3]);
    expect(queuedNow).toHaveLength(8 * P - 1 + 3);
  });

  it('redrive() asks which partition when two hold the same dead-letter id, and writes nothing meanwhile', async () => {
    const producer = await apps.start(partitioned(P, { worker: false }));
    const partitions = apps.partitions(P);
    for (const p of [1, 2])
      await redis.xadd(partitions.keysFor(p).deadLetter, '1-1', 'id', `t${p}`, 'n', 'echo', 'p', '1', 'a', '1');
    await expect(producer.client.redrive('1-1')).rejects.toThrow(InvalidOptionError);
    expect(await Promise.all([1, 2].map((p) => redis.xlen(partitions.keysFor(p).stream)))).toEqual([0, 0]);
    const entryId = await producer.client.redrive('1-1', { partition: 2 });
    expect((await redis.xrange(partitions.keysFor(2).stream, entryId, entryId))[0][1]).toContain('t2');
    // Now only partition 1 holds it: found without asking.
    await producer.client.redrive('1-1');
    expect(await redis.xlen(partitions.keysFor(1).stream)).toBe(1);
    await expect(producer.client.redrive('1-1', { partition: 4 })).rejects.toThrow(InvalidOptionError);
  });

  it('a cursor without a partition (issued before the queue was partitioned) resumes partition 0', async () => {
    const { producer } = await fill();
    const first = (await producer.client.list('queued', { limit: 500 })).tasks.filter((t) => t.partition === 0);
    const page = await producer.client.list('queued', { limit: 2, cursor: first[0].entryId });
    expect(page.tasks.map((t) => t.id)).toEqual(first.slice(1, 3).map((t) => t.id));
    expect(page.cursor).toBe(`p0:${first[2].entryId}`);
  });

  it('events() delivers the events of tasks in every partition', async () => {
    const worker = await apps.start(partitioned(P));
    const watcher = await apps.start(partitioned(P, { worker: false }));
    const events: FleetEvent[] = [];
    subscription = await watchedEvents(watcher.client, events);
    const handles = await Promise.all(
      Array.from({ length: P }, (_, p) => watcher.client.enqueue('echo', p, { key: keysIn(p, 1)[0] })),
    );
    expect(handles.map((h) => h.toJSON().partition ?? 0)).toEqual([0, 1, 2, 3]);
    await Promise.all(handles.map((h) => h.result()));
    const ids = handles.map((h) => h.id);
    await waitFor(() => ids.every((id) => events.some((e) => e.type === 'completed' && e.taskId === id)), {
      description: 'a completed event from each partition',
    });
    expect(worker.events.counters().completed).toBeGreaterThanOrEqual(P);
  });
});
