/**
 * The raw ceiling: what Redis Streams alone can do with a minimal client loop and no guarantees
 * beyond at-least-once. Enqueue is pipelined XADD; the drain loop is one round trip per batch:
 * [XACK + XDEL of the previous batch, XREADGROUP COUNT 100] in one pipeline, the batch's handlers
 * run concurrently, repeat.
 */
import Redis from 'ioredis';
import { cpuClock } from './cpu-clock';
import { budgetMs, drainWork, inChunks, now, payload } from './load';
import { BenchPayload, ChildJob, RunEnv, ScenarioResult, Side, TASK_NAME } from './scenario';

const GROUP = 'workers';
const CONSUMER = 'c1';
const BATCH = 100;

async function connect(job: ChildJob): Promise<{ redis: Redis; stream: string }> {
  const redis = new Redis(job.redisUrl, { lazyConnect: true, connectionName: 'bench-raw' });
  await redis.connect();
  return { redis, stream: `${job.prefix}:stream` };
}

async function xaddMany(redis: Redis, stream: string, start: number, count: number): Promise<void> {
  const p = redis.pipeline();
  for (let k = 0; k < count; k++) p.xadd(stream, '*', 'name', TASK_NAME, 'payload', JSON.stringify(payload(start + k)));
  const results = await p.exec();
  const err = results?.find(([e]) => e)?.[0];
  if (err) throw err;
}

async function enqueueBulk({ job, probe }: RunEnv): Promise<ScenarioResult> {
  const { redis, stream } = await connect(job);
  await xaddMany(redis, stream, -100, 100);
  const window = await probe.window();
  const t0 = now();
  await inChunks(job.tasks, job.chunk, (start, count) => xaddMany(redis, stream, start, count));
  const elapsedMs = now() - t0;
  const commands = await window.end();
  await redis.quit();
  return { tasks: job.tasks, elapsedMs, commands, notes: [] };
}

type StreamReply = [string, [string, string[]][]][] | null;

async function drain({ job, probe }: RunEnv): Promise<ScenarioResult> {
  const memoryBefore = await probe.settledUsedMemory();
  const { redis, stream } = await connect(job);
  await redis.xgroup('CREATE', stream, GROUP, '0', 'MKSTREAM');
  await inChunks(job.tasks, job.chunk, (start, count) => xaddMany(redis, stream, start, count));

  const work = drainWork(job.drainHandlerMs);
  const handle = async (_payload: BenchPayload) => work();
  const window = await probe.window();
  const cpuPerTask = cpuClock(job.tasks);
  const t0 = now();
  let handled = 0;
  let firstTask = 0;
  let toAck: string[] = [];
  const deadline = t0 + budgetMs(job.tasks);
  for (;;) {
    const p = redis.pipeline();
    if (toAck.length) p.xack(stream, GROUP, ...toAck).xdel(stream, ...toAck);
    if (handled < job.tasks) p.xreadgroup('GROUP', GROUP, CONSUMER, 'COUNT', BATCH, 'STREAMS', stream, '>');
    const results = (await p.exec()) ?? [];
    const err = results.find(([e]) => e)?.[0];
    if (err) throw err;
    if (handled >= job.tasks) break;
    const reply = results[results.length - 1][1] as StreamReply;
    const entries = reply?.[0]?.[1] ?? [];
    if (entries.length === 0) throw new Error(`stream ran dry after ${handled} of ${job.tasks} entries`);
    if (now() > deadline) throw new Error(`raw drain exceeded its time budget after ${handled} entries`);
    if (handled === 0) firstTask = now();
    await Promise.all(entries.map(([, fields]) => handle(JSON.parse(fields[3]) as BenchPayload)));
    handled += entries.length;
    toAck = entries.map(([id]) => id);
  }
  const elapsedMs = now() - t0;
  const cpuMicrosPerTask = cpuPerTask();
  const commands = await window.end();
  const remaining = await probe.xlen(stream);
  await redis.quit();

  const left = await probe.leftBehind(memoryBefore, `*${job.prefix}*`, job.memoryWaitMs);
  const notes = remaining ? [`${remaining} entries left in the stream`] : [];
  return { tasks: job.tasks, elapsedMs, cpuMicrosPerTask, firstTaskMs: firstTask - t0, commands, ...left, notes };
}

export const side: Side = { 'enqueue-bulk': enqueueBulk, drain };
