import { EXIT } from '../../lib/cli/cli-commands';
import { defineScripts } from '../../lib/redis/scripts';
import { closeApps, startApp } from '../fixtures/test-app';
import { runCliInProcess } from '../utils/cli-in-process';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, redisUrl } from '../utils/redis';

/**
 * `inspect` without --queue found queues by SCAN for `{<prefix>:*}:stream` (and delayed, dlq) and
 * took whatever sat between the braces for a queue name: a partition p > 0 (`{sq:default#1}`) or
 * a key state whose user key ends in `}:stream` became a "queue" no name can be, and the whole
 * command failed. Only keys built as keys.ts builds a queue's now count, partitions folded into
 * their queue (a review finding; both cases failed).
 */
describe('CLI inspect (every queue found): what the scan takes for a queue', () => {
  const redis = createRedis();
  defineScripts(redis);
  const prefixes: string[] = [];
  const inspect = (prefix: string) =>
    runCliInProcess(redis, ['inspect', '--json', '--url', redisUrl(), '--prefix', prefix], true);

  afterEach(async () => {
    await closeApps();
    for (const prefix of prefixes.splice(0)) await cleanupPrefix(redis, prefix);
  });
  afterAll(closeAll);

  it('lists a partitioned queue once, with every partition summed', async () => {
    const prefix = randomPrefix();
    prefixes.push(prefix);
    const t = await startApp({ prefix, options: { worker: false, queues: { default: { partitions: 3 } } } });
    // Unkeyed tasks go round-robin: six of them reach every partition.
    for (let i = 0; i < 6; i++) await t.client.enqueue('echo', i);
    const result = await inspect(prefix);
    expect({ code: result.code, err: result.err }).toEqual({ code: EXIT.ok, err: '' });
    const states = JSON.parse(result.out) as { queue: string; waiting: number }[];
    expect(states.map((s) => [s.queue, s.waiting])).toEqual([['default', 6]]);
  });

  it('a task key ending in "}:stream" does not make a queue of its key state', async () => {
    const prefix = randomPrefix();
    prefixes.push(prefix);
    const t = await startApp({ prefix, options: { worker: false } });
    // Its state hash is {<prefix>:default}:key:tenant}:stream, which the scan's pattern matches.
    await t.client.enqueue('echo', 1, { key: 'tenant}:stream' });
    const result = await inspect(prefix);
    expect({ code: result.code, err: result.err }).toEqual({ code: EXIT.ok, err: '' });
    expect((JSON.parse(result.out) as { queue: string }[]).map((s) => s.queue)).toEqual(['default']);
  });
});
