import { Probe } from '../fixtures/probe';
import { sleep, useSpecRedis } from '../utils/helpers';
import { closeApps, startApp } from '../fixtures/test-app';
import { keysMatching } from '../utils/redis';

// worker:false: a process that only enqueues (a web tier) must never take work from the queue.
describe('producer-only process (worker: false)', () => {
  const { prefix, redis } = useSpecRedis();
  afterEach(closeApps);

  it('never consumes; its task runs once a worker app starts, and its handle gets the result', async () => {
    const producer = await startApp({ prefix, options: { worker: false } });
    const handle = await producer.client.enqueue('echo', 'from the producer');

    // Several read and sweep periods (100 ms each) pass: a consumer would have taken it by now.
    await sleep(600);
    expect(producer.probe.runs).toEqual([]);
    await expect(redis.xlen(producer.keys.stream)).resolves.toBe(1);
    // It did not even join the queue: no consumer group, no liveness key.
    await expect(redis.xinfo('GROUPS', producer.keys.stream)).resolves.toEqual([]);
    await expect(keysMatching(redis, `{${prefix}:default}:alive:*`)).resolves.toEqual([]);

    const worker = await startApp({ prefix, probe: new Probe() });
    await expect(handle.result({ timeoutMs: 5_000 })).resolves.toBe('from the producer');
    expect(worker.probe.runs.map((r) => r.ctx.id)).toEqual([handle.id]);
    expect(producer.probe.runs).toEqual([]);
  });

  // A single unkeyed enqueue due now is a plain XADD; the others go through the scripts. A
  // worker must not be able to tell them apart.
  it('enqueue (plain XADD), enqueueMany (script) and a past runAt (script) write the same fields', async () => {
    const producer = await startApp({ prefix, options: { worker: false } });
    const single = await producer.client.enqueue('echo', { a: 1 });
    const [many] = await producer.client.enqueueMany([{ name: 'echo', payload: { a: 1 } }]);
    const past = await producer.client.enqueue('echo', { a: 1 }, { runAt: 1 });
    const entries = (await redis.xrange(producer.keys.stream, '-', '+')) as [string, string[]][];
    const byId = new Map(entries.map(([, fields]) => [fields[1], fields]));
    const shape = (id: string) => byId.get(id)?.map((v) => (v === id ? '<id>' : v));
    expect(shape(single.id)).toEqual(['id', '<id>', 'n', 'echo', 'p', '{"a":1}', 'a', '1']);
    expect(shape(many.id)).toEqual(shape(single.id));
    expect(shape(past.id)).toEqual(shape(single.id));
  });
});
