import { Injectable, Module } from '@nestjs/common';
import { Task, type TaskContext } from '../../lib';
import { Latch } from '../utils/latch';
import { RequestHoldingProxy } from '../fixtures/request-holding-proxy';
import { Probe } from '../fixtures/probe';
import { closeApps, startApp } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, subscriberCount, waitFor } from '../utils/redis';

let probe: Probe;

/** `once`, but storing nothing of its own (its key state is kept the module's resultTtlMs). */
@Injectable()
class UnkeptTask {
  @Task('unkept-once', { maxAttempts: 1, resultTtlMs: 0 })
  run(payload: unknown, ctx: TaskContext): Promise<unknown> {
    return probe.handle('unkept-once', payload, ctx);
  }
}
@Module({ providers: [UnkeptTask] })
class UnkeptTaskModule {}

/*
 * Attack on "result() tells what happened" after a redrive (the wait that heard a failure and had
 * not read it when the dead letter was redriven waits on for the new run): the new run completed
 * before the waiter's reads. A stored success (a keyed void run's `{"ok":true}`, a value) read
 * after a failure's token gave that failure; an unkeyed task with resultTtlMs 0 had nothing left
 * at the state read (its pending marker deleted by that completion, its first entry long gone),
 * which the waiter took for a gone entry: it reported the old run's failure too.
 */
describe('result(): the redriven run completes before the wait reads its outcome', () => {
  const redis = createRedis();
  const proxy = new RequestHoldingProxy();
  let url: string;
  let prefix: string;

  beforeAll(async () => {
    url = `redis://127.0.0.1:${await proxy.start()}`;
  });
  beforeEach(() => {
    prefix = randomPrefix();
  });
  afterEach(async () => {
    await closeApps();
    proxy.releaseAll();
    await cleanupPrefix(redis, prefix);
  });
  afterAll(async () => {
    await proxy.stop();
    await closeAll();
  });

  // Held until the new run completed: its GET of the stored result ('get'), or the state read
  // that GET starts when it finds nothing, or the pending marker ('state read').
  it.each([
    // The GET finds that run's `{"ok":true}`.
    ['a keyed task', 'once', 'redriven-key', 3_600_000, undefined, 'get'],
    // The GET finds the value that run stored.
    ['an unkeyed task returning a value', 'once', undefined, 3_600_000, 'second run', 'get'],
    // The GET finds nothing (a keyed redrive deletes the result); the key state says completed.
    ['a keyed task of resultTtlMs 0', 'unkept-once', 'redriven-key', 3_600_000, undefined, 'state read'],
    // The GET finds the redrive's pending marker; then nothing is left.
    ['an unkeyed task, resultTtlMs 0', 'once', undefined, 0, undefined, 'state read'],
  ])('%s: answers the new run’s outcome', async (_, task, key, resultTtlMs, value, held) => {
    probe = new Probe();
    const imports = [UnkeptTaskModule];
    const producer = await startApp({ prefix, probe, options: { worker: false, connection: { url } }, imports });
    const consumer = await startApp({ prefix, probe, options: { resultTtlMs }, imports });
    const go = new Latch();
    const again = new Latch();
    probe.on(task, async () => {
      await go.wait();
      if (probe.runsOf(task).length === 1) throw new Error('first run fails');
      await again.wait();
      return value;
    });
    const handle = await producer.client.enqueue(task, 'x', key ? { key } : {});
    const result = handle.result({ timeoutMs: 15_000 }).catch((error: unknown) => error);
    await waitFor(async () => (await subscriberCount(redis, producer.keys.doneChannel)) === 1, {
      description: 'result() subscribed',
    });

    const resultKey = producer.keys.result(handle.id);
    proxy.holdRequestsFrom(`get\r\n$${Buffer.byteLength(resultKey)}\r\n${resultKey}`);
    go.open();
    await waitFor(() => proxy.held > 0, { description: 'the failure heard, its read held' });
    await expect(consumer.client.redriveAll({ queue: 'default' })).resolves.toMatchObject({ redriven: 1 });
    if (held === 'state read') {
      // The state read the GET starts (the only request naming the id bare, as an argument) is
      // held in turn.
      proxy.releaseAll();
      proxy.holdRequestsFrom(`$${handle.id.length}\r\n${handle.id}\r\n`);
      await waitFor(() => proxy.held > 0, { description: 'the state read held' });
    }
    await waitFor(() => probe.runsOf(task).length === 2, { description: 'the new run started' });
    again.open();
    await waitFor(() => consumer.events.counters().completed === 1, { description: 'the new run completed' });
    proxy.releaseAll();
    expect(await result).toBe(value);
    expect(probe.runsOf(task)).toHaveLength(2);
  });
});
