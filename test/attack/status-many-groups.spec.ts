import { GROUP_READ_LIMIT } from '../../lib/scripts/queue-state.script';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp } from '../fixtures/test-app';
import { monitorNodeOf } from '../utils/redis';

/**
 * An unkeyed task's handle infers its state from its stream entry: still there and not pending,
 * it is queued unless the workers' group has read past it, and the group's read position came
 * from XINFO GROUPS, which lists every consumer group of the stream. Anyone who can write to
 * Redis can create groups (XGROUP CREATE): with 200,000 of them each status() cost about 1.3 s
 * of Redis time, blocking every worker, and so did each result() (it reads the same state once
 * subscribed). The state is now read by one script that counts the groups first: past
 * GROUP_READ_LIMIT, status() of a task whose entry is still in the stream throws
 * TOO_MANY_GROUPS (as counts() does), and result() waits for the completion message. A task
 * settled (result stored, entry gone) still reads as settled. A review finding; the spec failed.
 */
describe('attack: status() and result() of an unkeyed task on a stream with hundreds of groups', () => {
  const env = useProbeApps();

  async function groups(stream: string, n: number): Promise<void> {
    const pipeline = env.redis.pipeline();
    for (let i = 0; i < n; i++) pipeline.xgroup('CREATE', stream, `foreign-${i}`, '$', 'MKSTREAM');
    expect((await pipeline.exec())?.every(([error]) => !error)).toBe(true);
  }

  /** The XINFO GROUPS Redis runs on `stream` during `read`, scripts' own included (MONITOR). */
  async function groupListings(stream: string, read: () => Promise<unknown>): Promise<number> {
    const monitor = await monitorNodeOf(stream);
    let listings = 0;
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args[0].toLowerCase() === 'xinfo' && args[1]?.toLowerCase() === 'groups' && args[2] === stream) listings++;
    });
    try {
      await read();
      await env.redis.ping();
      await new Promise((resolve) => setTimeout(resolve, 100));
      return listings;
    } finally {
      monitor.disconnect();
    }
  }

  it('status() of a queued task throws TOO_MANY_GROUPS without listing the groups; result() waits', async () => {
    const producer = await startApp({ prefix: env.prefix, options: { worker: false } });
    const handle = await producer.client.enqueue('echo', 'hello');
    await groups(producer.keys.stream, GROUP_READ_LIMIT + 50);
    let status: unknown;
    const listings = await groupListings(producer.keys.stream, async () => {
      status = await handle.status().catch((error: Error) => error);
    });
    expect(status).toMatchObject({ code: 'TOO_MANY_GROUPS', message: expect.stringContaining('"default" has 150') });
    expect(listings).toBe(0);

    // result() cannot read whether the group passed the entry: it waits for the completion
    // message, and a worker started now runs the task.
    const result = handle.result({ timeoutMs: 10_000 });
    await startApp({ prefix: env.prefix, probe: env.probe });
    await expect(result).resolves.toBe('hello');
    // Settled: the stored result answers, whatever the number of groups.
    await expect(handle.status()).resolves.toMatchObject({ state: 'completed' });
  });

  it('control: within the bound, status() reads the queued task as pending', async () => {
    const producer = await startApp({ prefix: env.prefix, options: { worker: false } });
    const handle = await producer.client.enqueue('echo', 'hello');
    await groups(producer.keys.stream, GROUP_READ_LIMIT);
    await expect(handle.status()).resolves.toMatchObject({ state: 'pending' });
  });
});
