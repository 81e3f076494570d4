import { DynamicModule, Injectable, Module } from '@nestjs/common';
import { Task, type TaskContext } from '../../lib';
import { QueueKeys } from '../../lib/redis/keys';
import { QueuePartitions } from '../../lib/partitions/queue-partitions';
import { Probe } from '../fixtures/probe';
import { useProbeApps } from '../fixtures/probe-apps';
import { logger, startApp, type TestApp } from '../fixtures/test-app';
import { monitorNodeOf, waitFor } from '../utils/redis';

/** A task on the queue `spare` and one on the partitioned queue `parted`, beside the fixtures' `echo` on `default`. */
@Injectable()
class OtherQueueTasks {
  constructor(private readonly probe: Probe) {}

  @Task('spare-echo', { queue: 'spare', maxAttempts: 1 })
  spare(payload: unknown, ctx: TaskContext): Promise<unknown> {
    return this.probe.handle('spare-echo', payload, ctx);
  }

  @Task('parted-echo', { queue: 'parted', maxAttempts: 1 })
  parted(payload: unknown, ctx: TaskContext): Promise<unknown> {
    return this.probe.handle('parted-echo', payload, ctx);
  }
}

@Module({})
class OtherQueueModule {
  static register(probe: Probe): DynamicModule {
    return { module: OtherQueueModule, providers: [{ provide: Probe, useValue: probe }, OtherQueueTasks] };
  }
}

/**
 * A worker reads all its queues with one blocking `XREADGROUP ... STREAMS s1 s2 ...`. When the
 * stream key of one queue is not a stream (anyone with Redis access can DEL it and SET a string
 * there), Redis answers the whole call with WRONGTYPE, naming no key: every queue of the call
 * failed its read and retried with backoff into the same call, so one bad key halted every other
 * queue of the worker for as long as it stayed. Now only the queue whose stream is of the wrong
 * type fails its reads; it reads again once the key is a stream or deleted. Beside it: a due
 * delayed task of that queue was lost (promote.lua removed it, then its XADD failed), and a
 * worker booting with such a key failed app.init() (its group could not be created), which
 * stopped every queue too. Review findings; each case failed before its fix.
 */
describe('attack: one queue whose stream key is not a stream, in the shared read', () => {
  const env = useProbeApps();
  const { redis } = env;

  const boot = (options: { blockMs?: number } = {}): Promise<TestApp> => {
    const probe = new Probe();
    return startApp({
      prefix: env.prefix,
      probe,
      options: { ...options, queues: { parted: { partitions: 2 } } },
      imports: [OtherQueueModule.register(probe)],
    });
  };

  /** Replaces `key` (a stream) with a string, as anyone with Redis access can. */
  const spoil = (key: string) => redis.multi().del(key).set(key, 'not a stream').exec();

  /** Waits until a warning logged since `from` starts with `start` (a failure of a queue's loop). */
  const warnedSince = (from: number, start: string) =>
    waitFor(
      () =>
        logger
          .warnings()
          .slice(from)
          .some((w) => w.startsWith(start)),
      { description: start },
    );

  /** Each of `n` tasks on `default`, one after another, completes within `withinMs`. */
  const defaultKeepsRunning = async (t: TestApp, n: number, withinMs: number) => {
    for (let i = 0; i < n; i++) {
      const handle = await t.client.enqueue('echo', `fine-${i}`);
      await expect(handle.result({ timeoutMs: withinMs })).resolves.toBe(`fine-${i}`);
    }
  };

  it('keeps the other queues running, fails only that queue, which recovers once the key is deleted', async () => {
    const t = await boot();
    const spare = new QueueKeys(env.prefix, 'spare');
    await expect((await t.client.enqueue('spare-echo', 'before')).result({ timeoutMs: 5_000 })).resolves.toBe('before');
    const warnedBefore = logger.warnings().length;
    await spoil(spare.stream);

    await defaultKeepsRunning(t, 5, 2_000);
    // The bad queue's failure is logged, naming its stream key.
    await warnedSince(warnedBefore, 'Queue "spare" read failed (WRONGTYPE');
    const warned = logger.warnings().slice(warnedBefore);
    expect(warned.filter((w) => w.startsWith('Queue "default" read failed'))).toEqual([]);
    expect(warned.find((w) => w.startsWith('Queue "spare" read failed'))).toContain(spare.stream);

    await redis.del(spare.stream);
    const after = await t.client.enqueue('spare-echo', 'after');
    await expect(after.result({ timeoutMs: 15_000 })).resolves.toBe('after');
    await defaultKeepsRunning(t, 1, 2_000);
  }, 30_000);

  it('keeps the other queues running when the key turns bad while the shared call blocks', async () => {
    // One call blocks for 30 s: Redis ends it (UNBLOCKED) when the key is replaced, and the next
    // call is answered with WRONGTYPE.
    const t = await boot({ blockMs: 30_000 });
    const spare = new QueueKeys(env.prefix, 'spare');
    const monitor = await monitorNodeOf(spare.stream);
    const blocking = new Promise<void>((resolve) =>
      monitor.on('monitor', (_time: string, args: string[]) => {
        const call = args.join(' ');
        if (
          /^xreadgroup$/i.test(args[0]) &&
          call.includes(' BLOCK ') &&
          call.includes(spare.stream) &&
          call.includes(t.keys.stream)
        ) {
          resolve();
        }
      }),
    );
    await blocking;
    const warnedBefore = logger.warnings().length;
    await spoil(spare.stream);

    await defaultKeepsRunning(t, 5, 2_000);
    const warned = logger.warnings().slice(warnedBefore);
    expect(warned.filter((w) => w.startsWith('Queue "default" read failed'))).toEqual([]);
    monitor.disconnect();

    await redis.del(spare.stream);
    await expect((await t.client.enqueue('spare-echo', 'after')).result({ timeoutMs: 15_000 })).resolves.toBe('after');
  }, 60_000);

  it('keeps a delayed task of that queue that falls due meanwhile: it runs once the key is deleted', async () => {
    const t = await boot();
    const spare = new QueueKeys(env.prefix, 'spare');
    const delayed = await t.client.enqueue('spare-echo', 'delayed', { delayMs: 300 });
    const warnedBefore = logger.warnings().length;
    await spoil(spare.stream);
    // Promotions of the due task meet the bad key (each sweep interval, 100 ms).
    await warnedSince(warnedBefore, 'Queue "spare" promote failed');
    expect(await redis.zcard(spare.delayed)).toBe(1);

    await redis.del(spare.stream);
    await expect(delayed.result({ timeoutMs: 15_000 })).resolves.toBe('delayed');
  }, 30_000);

  it('boots with the bad key in place: the other queues run, and that queue once the key is deleted', async () => {
    const spare = new QueueKeys(env.prefix, 'spare');
    await redis.set(spare.stream, 'not a stream');
    const t = await boot();

    await defaultKeepsRunning(t, 5, 2_000);
    expect(logger.warnings().find((w) => w.includes(spare.stream))).toContain('is not a stream');

    await redis.del(spare.stream);
    await expect((await t.client.enqueue('spare-echo', 'after')).result({ timeoutMs: 15_000 })).resolves.toBe('after');
  }, 30_000);

  it("keeps the other queues running when one partition's stream is bad, and the partitioned queue recovers", async () => {
    const t = await boot();
    const parted = new QueuePartitions(env.prefix, 'parted', 2);
    const warnedBefore = logger.warnings().length;
    await spoil(parted.keysFor(1).stream);

    await defaultKeepsRunning(t, 5, 2_000);
    await warnedSince(warnedBefore, 'Queue "parted" read failed (WRONGTYPE');
    const warned = logger.warnings().slice(warnedBefore);
    expect(warned.filter((w) => w.startsWith('Queue "default" read failed'))).toEqual([]);
    expect(warned.find((w) => w.startsWith('Queue "parted" read failed'))).toContain(parted.keysFor(1).stream);

    await redis.del(parted.keysFor(1).stream);
    // Unkeyed tasks go to the partitions in turn: both are read again.
    const handles = await Promise.all([0, 1, 2, 3].map((i) => t.client.enqueue('parted-echo', `p-${i}`)));
    const results = await Promise.all(handles.map((h) => h.result({ timeoutMs: 15_000 })));
    expect(results).toEqual(['p-0', 'p-1', 'p-2', 'p-3']);
  }, 30_000);
});
