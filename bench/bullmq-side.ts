/**
 * BullMQ side, public API only: Queue.addBulk / Queue.add / Worker. Default options except
 * removeOnComplete and removeOnFail (both true), so finished jobs do not pile up in Redis.
 */
import { Job, Queue, Worker } from 'bullmq';
import { cpuClock } from './cpu-clock';
import { atSteadyRate, budgetMs, drainWork, inChunks, inParallel, now, payload, sleep, waitFor } from './load';
import {
  BenchPayload,
  CLOSE_HANDLER_MS,
  CLOSE_IN_FLIGHT,
  CLOSE_WARMUP,
  ChildJob,
  RunEnv,
  ScenarioResult,
  Side,
  TASK_NAME,
} from './scenario';
import { SampleRecorder } from './stats';

const QUEUE = 'bench';
const WARMUP = 100;

function openQueue(job: ChildJob): Queue<BenchPayload> {
  const queue = new Queue<BenchPayload>(QUEUE, {
    connection: { url: job.redisUrl },
    prefix: job.prefix,
    defaultJobOptions: { removeOnComplete: true, removeOnFail: true },
  });
  queue.on('error', (err) => console.error(`[bullmq queue] ${err.message}`));
  return queue;
}

function openWorker(
  job: ChildJob,
  handler: (job: Job<BenchPayload>) => void | Promise<unknown>,
  concurrency = job.concurrency,
): Worker<BenchPayload> {
  const worker = new Worker<BenchPayload>(QUEUE, async (j) => handler(j), {
    connection: { url: job.redisUrl },
    prefix: job.prefix,
    concurrency,
  });
  worker.on('error', (err) => console.error(`[bullmq worker] ${err.message}`));
  return worker;
}

function bulkOf(start: number, count: number) {
  return Array.from({ length: count }, (_, k) => ({ name: TASK_NAME, data: payload(start + k) }));
}

async function enqueueBulk({ job, probe }: RunEnv): Promise<ScenarioResult> {
  const queue = openQueue(job);
  await queue.waitUntilReady();
  await queue.addBulk(bulkOf(-WARMUP, WARMUP));
  const window = await probe.window();
  const t0 = now();
  await inChunks(job.tasks, job.chunk, (start, count) => queue.addBulk(bulkOf(start, count)));
  const elapsedMs = now() - t0;
  const commands = await window.end();
  await queue.close();
  return { tasks: job.tasks, elapsedMs, commands, notes: [] };
}

async function enqueueSingle({ job, probe }: RunEnv): Promise<ScenarioResult> {
  const queue = openQueue(job);
  await queue.waitUntilReady();
  await inParallel(WARMUP, job.parallel, (i) => queue.add(TASK_NAME, payload(-1 - i)));
  const window = await probe.window();
  const t0 = now();
  await inParallel(job.tasks, job.parallel, (i) => queue.add(TASK_NAME, payload(i)));
  const elapsedMs = now() - t0;
  const commands = await window.end();
  await queue.close();
  return { tasks: job.tasks, elapsedMs, commands, notes: [] };
}

async function drain({ job, probe }: RunEnv): Promise<ScenarioResult> {
  const memoryBefore = await probe.settledUsedMemory();
  const queue = openQueue(job);
  await inChunks(job.tasks, job.chunk, (start, count) => queue.addBulk(bulkOf(start, count)));
  await queue.close();

  let handled = 0;
  let firstTask = 0;
  let completed = 0;
  let failed = 0;
  let lastCompletion = 0;
  const work = drainWork(job.drainHandlerMs);
  const window = await probe.window();
  const cpuPerTask = cpuClock(job.tasks);
  const t0 = now();
  const worker = openWorker(job, () => {
    if (handled++ === 0) firstTask = now();
    return work();
  });
  worker.on('completed', () => {
    completed++;
    lastCompletion = now();
  });
  worker.on('failed', () => failed++);
  const what = () => `${job.tasks} BullMQ completions (saw ${completed}, ${failed} failed)`;
  await waitFor(() => completed + failed >= job.tasks, budgetMs(job.tasks), what);
  const elapsedMs = lastCompletion - t0;
  const cpuMicrosPerTask = cpuPerTask();
  const commands = await window.end();
  await worker.close();

  const left = await probe.leftBehind(memoryBefore, `*${job.prefix}*`, job.memoryWaitMs);
  const notes = failed ? [`${failed} jobs failed`] : [];
  if (handled !== job.tasks) notes.push(`handler ran ${handled} times for ${job.tasks} jobs`);
  return { tasks: job.tasks, elapsedMs, cpuMicrosPerTask, firstTaskMs: firstTask - t0, commands, ...left, notes };
}

async function latency({ job, probe }: RunEnv): Promise<ScenarioResult> {
  const samples = new SampleRecorder();
  const worker = openWorker(job, (j) => samples.record(now() - j.data.t));
  await worker.waitUntilReady();
  const queue = openQueue(job);
  await queue.waitUntilReady();
  await sleep(250); // let the worker settle into its blocking wait

  const total = Math.round(job.rate * job.seconds);
  const window = await probe.window();
  const t0 = now();
  await atSteadyRate(job.rate, job.seconds, (i) => queue.add(TASK_NAME, payload(i)));
  const what = () => `${total} BullMQ handler starts (saw ${samples.count})`;
  await waitFor(() => samples.count >= total, budgetMs(total), what);
  const elapsedMs = now() - t0;
  const commands = await window.end();
  await worker.close();
  await queue.close();
  return { tasks: total, elapsedMs, commands, latency: samples.summary(), notes: [] };
}

/** Times `worker.close()`: (a) idle after consuming, (b) with CLOSE_IN_FLIGHT jobs in flight. */
async function close({ job }: RunEnv): Promise<ScenarioResult> {
  const notes: string[] = [];
  const queue = openQueue(job);
  await queue.waitUntilReady();

  let completed = 0;
  const idle = openWorker(job, () => undefined, CLOSE_IN_FLIGHT);
  idle.on('completed', () => completed++);
  await idle.waitUntilReady();
  await queue.addBulk(bulkOf(0, CLOSE_WARMUP));
  await waitFor(
    () => completed >= CLOSE_WARMUP,
    30_000,
    () => `${CLOSE_WARMUP} completions (saw ${completed})`,
  );
  await sleep(250); // settled back into its blocking wait
  let t0 = now();
  await idle.close();
  const closeIdleMs = now() - t0;

  let started = 0;
  let finished = 0;
  const busy = openWorker(
    job,
    async () => {
      started++;
      await sleep(CLOSE_HANDLER_MS);
      finished++;
    },
    CLOSE_IN_FLIGHT,
  );
  await queue.addBulk(bulkOf(0, CLOSE_IN_FLIGHT));
  await waitFor(
    () => started >= CLOSE_IN_FLIGHT,
    30_000,
    () => `${CLOSE_IN_FLIGHT} jobs in flight (saw ${started})`,
  );
  t0 = now();
  await busy.close();
  const closeBusyMs = now() - t0;
  await queue.close();
  if (finished !== CLOSE_IN_FLIGHT) notes.push(`close returned with ${finished} of ${CLOSE_IN_FLIGHT} jobs finished`);
  return {
    tasks: CLOSE_IN_FLIGHT,
    elapsedMs: closeIdleMs + closeBusyMs,
    commands: {},
    closeIdleMs,
    closeBusyMs,
    notes,
  };
}

export const side: Side = { 'enqueue-bulk': enqueueBulk, 'enqueue-single': enqueueSingle, drain, latency, close };
