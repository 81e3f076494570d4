import type { Redis } from 'ioredis';
import { FleetReads } from '../../lib/client/fleet-reads';
import { QueueKeys } from '../../lib/redis/keys';
import { defineScripts } from '../../lib/redis/scripts';
import { CONSUMER_LIST_LIMIT } from '../../lib/scripts/queue-state.script';
import { CONSUMER_GROUP } from '../../lib/stream-queue.constants';
import { createRedis, useSpecRedis } from '../utils/helpers';
import { runCliInProcess } from '../utils/cli-in-process';
import { monitorNodeOf, redisUrl } from '../utils/redis';

/**
 * Anyone who can write to Redis can create consumers (XGROUP CREATECONSUMER, one command each).
 * counts() runs on every metrics scrape and every dashboard sample, and inspect() on every
 * dashboard poll; queue-state.lua read every consumer of the group (XINFO CONSUMERS) and returned
 * them all, though counts() threw them away: with 200,000 consumers each call was a script of
 * about a second that blocked Redis, and an 8.5 MB reply. Now counts() reads no consumer, and
 * inspect() lists them only while the group has at most CONSUMER_LIST_LIMIT, else says how many
 * it did not list. A review finding; the spec failed.
 */
describe('attack: fleet reads of a queue whose group has thousands of consumers', () => {
  const { prefix, redis } = useSpecRedis();
  const many = CONSUMER_LIST_LIMIT + 1000;
  let keys: QueueKeys;

  beforeAll(async () => {
    keys = new QueueKeys(prefix, 'default');
    await redis.xgroup('CREATE', keys.stream, CONSUMER_GROUP, '$', 'MKSTREAM');
    await redis.xadd(keys.stream, '*', 'n', 'a');
    const pipeline = redis.pipeline();
    for (let i = 0; i < many; i++) pipeline.xgroup('CREATECONSUMER', keys.stream, CONSUMER_GROUP, `junk-${i}`);
    await pipeline.exec();
  });

  /** FleetReads on a connection of its own, and the bytes Redis sends it during `read`. */
  async function replyBytes<T>(read: (reads: FleetReads) => Promise<T>): Promise<{ value: T; bytes: number }> {
    const connection: Redis = createRedis();
    defineScripts(connection);
    await connection.ping();
    const reads = new FleetReads(connection, () => [keys], 60_000);
    let bytes = 0;
    const stream = (connection as unknown as { stream: NodeJS.ReadableStream }).stream;
    const count = (chunk: Buffer) => (bytes += chunk.length);
    stream.on('data', count);
    try {
      return { value: await read(reads), bytes };
    } finally {
      stream.off('data', count);
      connection.disconnect();
    }
  }

  /** The commands Redis runs on the queue's stream during `read`, scripts' own included (MONITOR). */
  async function commandsOn<T>(read: () => Promise<T>): Promise<string[]> {
    const monitor = await monitorNodeOf(keys.stream);
    const seen: string[] = [];
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args.includes(keys.stream)) seen.push(args[0].toLowerCase() + (args[1] ? ` ${args[1].toLowerCase()}` : ''));
    });
    try {
      await read();
      // MONITOR output follows the reply: a PING sent after it comes back after it.
      await redis.ping();
      await new Promise((resolve) => setTimeout(resolve, 100));
      return seen;
    } finally {
      monitor.disconnect();
    }
  }

  it('counts(): a reply of a few hundred bytes, and no consumer read', async () => {
    const { value, bytes } = await replyBytes((reads) => reads.counts());
    expect(value).toMatchObject({ waiting: 1, running: 0 });
    expect(bytes).toBeLessThan(1_000);
    const commands = await commandsOn(() => replyBytes((reads) => reads.counts()));
    expect(commands.filter((c) => c.startsWith('xinfo consumers'))).toEqual([]);
  });

  it('inspect(): the counts, no consumer listed, how many were not, and no consumer read', async () => {
    const { value, bytes } = await replyBytes((reads) => reads.state());
    expect(value).toMatchObject({ waiting: 1, running: 0, consumers: [], unlistedConsumers: many });
    expect(bytes).toBeLessThan(1_000);
    const commands = await commandsOn(() => replyBytes((reads) => reads.state()));
    expect(commands.filter((c) => c.startsWith('xinfo consumers'))).toEqual([]);
  });

  it('the CLI prints how many consumers there are, and that none was listed', async () => {
    const cli = createRedis();
    defineScripts(cli);
    const { code, out } = await runCliInProcess(cli, ['inspect', '--url', redisUrl(), '--prefix', prefix], true);
    expect(code).toBe(0);
    expect(out).toContain(`${many} (0 of 0 listed)`);
  });

  it('control: a group of CONSUMER_LIST_LIMIT consumers is listed whole', async () => {
    await redis.xgroup('DESTROY', keys.stream, CONSUMER_GROUP);
    await redis.xgroup('CREATE', keys.stream, CONSUMER_GROUP, '0');
    const pipeline = redis.pipeline();
    for (let i = 0; i < CONSUMER_LIST_LIMIT; i++)
      pipeline.xgroup('CREATECONSUMER', keys.stream, CONSUMER_GROUP, `worker-${i}`);
    await pipeline.exec();
    const { value } = await replyBytes((reads) => reads.state());
    expect(value.consumers).toHaveLength(CONSUMER_LIST_LIMIT);
    expect(value).toMatchObject({ unlistedConsumers: 0 });
    expect(value.consumers[0]).toMatchObject({ pending: 0, alive: false });
  });
});
