import { QueueKeys } from '../../lib/redis/keys';
import { closeApps, startApp } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, monitorNodeOf, randomPrefix, waitFor } from '../utils/redis';
import type { MonitorConnection } from '../utils/monitor-connection';

/**
 * Single enqueues of unkeyed tasks go by group commit (PlainEnqueueBatcher): alone, one is
 * written at once; while one is in flight, the next calls wait for its reply and leave together.
 */
describe('single enqueues by group commit', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  let monitor: MonitorConnection | undefined;

  afterEach(async () => {
    monitor?.disconnect();
    monitor = undefined;
    await closeApps();
  });
  afterAll(async () => {
    await cleanupPrefix(redis, prefix);
    await closeAll();
  });

  /** Counts the commands clients send on `stream` (not those scripts run), as MONITOR sees them. */
  async function countClientCommands(stream: string): Promise<() => Map<string, number>> {
    // No ready check: its INFO reply could interleave with MONITOR output.
    const seen = new Map<string, number>();
    monitor = await monitorNodeOf(stream);
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source === 'lua' || !args.includes(stream)) return;
      const name = args[0].toLowerCase();
      seen.set(name, (seen.get(name) ?? 0) + 1);
    });
    return () => seen;
  }

  it('300 concurrent enqueues: each queue keeps call order, in far fewer round trips than calls', async () => {
    const producer = await startApp({ prefix, options: { worker: false } });
    const other = new QueueKeys(prefix, 'other');
    await producer.client.enqueue('echo', 'warm-up'); // connection ready
    await redis.del(producer.keys.stream);
    const commands = await countClientCommands(producer.keys.stream);

    const handles = await Promise.all(
      Array.from({ length: 300 }, (_, i) => producer.client.enqueue('echo', i, i % 3 === 0 ? { queue: 'other' } : {})),
    );
    const payloads = async (stream: string) =>
      ((await redis.xrange(stream, '-', '+')) as [string, string[]][]).map(([, f]) =>
        JSON.parse(f[f.indexOf('p') + 1]),
      );
    const expected = (inOther: boolean) =>
      Array.from({ length: 300 }, (_, i) => i).filter((i) => (i % 3 === 0) === inOther);
    expect(await payloads(producer.keys.stream)).toEqual(expected(false));
    expect(await payloads(other.stream)).toEqual(expected(true));
    expect(new Set(handles.map((h) => h.id)).size).toBe(300);

    // A script goes by EVAL the first time this connection sends it, by EVALSHA after.
    const scriptCalls = () => (commands().get('evalsha') ?? 0) + (commands().get('eval') ?? 0);
    await waitFor(() => scriptCalls() > 0, { description: 'MONITOR output' });
    const calls = scriptCalls() + (commands().get('xadd') ?? 0);
    // The first call (i = 0, queue 'other') left at once, alone. The 299 calls made while it was
    // in flight left together when it answered: one script call per queue.
    expect(commands().get('xadd') ?? 0).toBe(0);
    expect(calls).toBe(1);
  });

  it('a lone enqueue is one XADD, and an awaited sequence stays in order', async () => {
    const producer = await startApp({ prefix, options: { worker: false } });
    await producer.client.enqueue('echo', 'warm-up');
    await redis.del(producer.keys.stream);
    const commands = await countClientCommands(producer.keys.stream);
    for (let i = 0; i < 5; i++) await producer.client.enqueue('echo', i);
    await waitFor(() => (commands().get('xadd') ?? 0) === 5, { description: 'five XADDs seen by MONITOR' });
    expect([...commands().keys()]).toEqual(['xadd']);
    const entries = (await redis.xrange(producer.keys.stream, '-', '+')) as [string, string[]][];
    expect(entries.map(([, f]) => f[f.indexOf('p') + 1])).toEqual(['0', '1', '2', '3', '4']);
  });
});
