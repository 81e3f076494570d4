/**
 * nest-stream-queue side, public API only: a Nest application context with
 * StreamQueueModule.forRoot, one @Task('bench.noop') handler, QueueClient.enqueue / enqueueMany.
 * Producer runs use `worker: false`; worker runs count handler calls through an injected probe.
 */
import 'reflect-metadata';
import { Inject, Injectable, INestApplicationContext, LogLevel, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EnqueueItem, QueueClient, StreamQueueModule, Task, TaskContext, TaskOptions } from '../lib';
import { achievedRate, flowDrainTasks, flowEnqueueOptions, flowTaskOptions, RATE } from './flow-sides';
import { isObserved, TRACED_CHUNK } from './observed-sides';
import { profileWindow } from './cpu-profile';
import { cpuClock } from './cpu-clock';
import { atSteadyRate, budgetMs, drainWork, inChunks, inParallel, now, payload, sleep, waitFor } from './load';
import type { RedisProbe } from './redis-stats';
import {
  BenchPayload,
  CLOSE_HANDLER_MS,
  CLOSE_IN_FLIGHT,
  CLOSE_WARMUP,
  ChildJob,
  RunEnv,
  ScenarioResult,
  Side,
  SideName,
  TASK_NAME,
} from './scenario';
import { SampleRecorder } from './stats';

const WARMUP = 100;
const HANDLER_PROBE = Symbol('BENCH_HANDLER_PROBE');
const LOG_LEVELS: LogLevel[] = ['error', 'warn'];

/** What the handler reports to the scenario: every call, with its payload. */
interface HandlerProbe {
  onTask(payload: BenchPayload, ctx?: TaskContext): void | Promise<unknown>;
}

/** The bench's one handler, declared with this side's task options (flow limits or none). */
function noopTasks(options: TaskOptions) {
  @Injectable()
  class NoopTasks {
    constructor(@Inject(HANDLER_PROBE) private readonly probe: HandlerProbe) {}

    @Task(TASK_NAME, options)
    noop(payload: BenchPayload, ctx: TaskContext): void | Promise<unknown> {
      return this.probe.onTask(payload, ctx);
    }
  }
  return NoopTasks;
}

interface ContextOptions {
  worker: boolean;
  resultTtlMs?: number;
  concurrency?: number;
}

async function createContext(
  job: ChildJob,
  opts: ContextOptions,
  probe: HandlerProbe = { onTask() {} },
): Promise<INestApplicationContext> {
  const concurrency = opts.concurrency ?? job.concurrency;
  @Module({
    imports: [
      StreamQueueModule.forRoot({
        connection: { url: job.redisUrl },
        prefix: job.prefix,
        concurrency,
        worker: opts.worker,
        ...job.sqOptions,
        ...(opts.resultTtlMs === undefined ? {} : { resultTtlMs: opts.resultTtlMs }),
      }),
      ...(isObserved(job.side) ? (await import('./observed')).observabilityImports() : []),
    ],
    providers: [noopTasks(flowTaskOptions(job.side, job.tasks)), { provide: HANDLER_PROBE, useValue: probe }],
  })
  class BenchAppModule {}

  // abortOnError: false, so a bootstrap error is thrown (and reported) instead of exiting the process.
  const app = await NestFactory.createApplicationContext(BenchAppModule, { logger: LOG_LEVELS, abortOnError: false });
  await app.init();
  return app;
}

function itemsOf(side: SideName, start: number, count: number): EnqueueItem[] {
  return Array.from({ length: count }, (_, k) => {
    const options = flowEnqueueOptions(side, start + k);
    return { name: TASK_NAME, payload: payload(start + k), ...(options ? { options } : {}) };
  });
}

async function enqueueBulk({ job, probe }: RunEnv): Promise<ScenarioResult> {
  const app = await createContext(job, { worker: false });
  const client = app.get(QueueClient);
  await client.enqueueMany(itemsOf(job.side, -WARMUP, WARMUP));
  const window = await probe.window();
  const t0 = now();
  await inChunks(job.tasks, job.chunk, (start, count) => client.enqueueMany(itemsOf(job.side, start, count)));
  const elapsedMs = now() - t0;
  const commands = await window.end();
  await app.close();
  return { tasks: job.tasks, elapsedMs, commands, notes: [] };
}

async function enqueueSingle({ job, probe }: RunEnv): Promise<ScenarioResult> {
  const app = await createContext(job, { worker: false });
  const client = app.get(QueueClient);
  await inParallel(WARMUP, job.parallel, (i) => client.enqueue(TASK_NAME, payload(-1 - i)));
  const window = await probe.window();
  const t0 = now();
  await inParallel(job.tasks, job.parallel, (i) => client.enqueue(TASK_NAME, payload(i)));
  const elapsedMs = now() - t0;
  const commands = await window.end();
  await app.close();
  return { tasks: job.tasks, elapsedMs, commands, notes: [] };
}

/** The queue's main stream(s), found by type under the run's prefix (never built from lib internals). */
async function mainStreams(probe: RedisProbe, prefix: string): Promise<string[]> {
  const streams = await probe.scanKeys(`*${prefix}*`, 'stream');
  const main = streams.filter((k) => k.endsWith(':stream'));
  return main.length ? main : streams.filter((k) => !/dlq|dead/.test(k));
}

async function drain({ job: base, probe }: RunEnv): Promise<ScenarioResult> {
  const job = { ...base, tasks: flowDrainTasks(base.side, base.tasks) };
  const memoryBefore = await probe.settledUsedMemory();
  const producer = await createContext(job, { worker: false, resultTtlMs: job.resultTtlMs });
  const client = producer.get(QueueClient);
  const chunk = isObserved(job.side) ? TRACED_CHUNK : job.chunk;
  await inChunks(job.tasks, chunk, (start, count) => client.enqueueMany(itemsOf(job.side, start, count)));
  await producer.close();
  const tracedTasks = isObserved(job.side) ? (await import('./observed')).tracedTaskCount() : undefined;
  const streams = await mainStreams(probe, job.prefix);
  if (streams.length === 0) {
    throw new Error(`no stream found under prefix ${job.prefix} after enqueueing ${job.tasks} tasks`);
  }

  let handled = 0;
  let firstTask = 0;
  const work = drainWork(job.drainHandlerMs);
  const startedAt: number[] = [];
  const redisCpuBefore = await probe.cpuMicros();
  const window = await probe.window();
  const stopProfile = await profileWindow(job.cpuProfileDir, `${job.side}-r${job.round}`);
  const cpuPerTask = cpuClock(job.tasks);
  const t0 = now();
  const counter: HandlerProbe = {
    onTask: (_payload, ctx) => {
      if (handled++ === 0) firstTask = now();
      if (ctx?.startedAt !== undefined) startedAt.push(ctx.startedAt);
      return work();
    },
  };
  const worker = await createContext(job, { worker: true, resultTtlMs: job.resultTtlMs }, counter);
  await waitFor(
    () => handled >= job.tasks,
    budgetMs(job.tasks),
    () => `${job.tasks} handler calls (saw ${handled})`,
  );
  const allAcked = async () => (await Promise.all(streams.map((s) => probe.pendingOf(s)))).every((p) => p === 0);
  await waitFor(allAcked, 30_000, 'every handled task to be acknowledged (pending list empty)');
  const elapsedMs = now() - t0;
  // CPU time is what a side costs the machine: less swayed than throughput by a busy host.
  const cpuMicrosPerTask = cpuPerTask();
  await stopProfile();
  const commands = await window.end();
  const redisCpuMicrosPerTask = ((await probe.cpuMicros()) - redisCpuBefore) / job.tasks;
  const notes: string[] = [];
  const lengths = await Promise.all(streams.map((s) => probe.xlen(s)));
  if (lengths.some((n) => n > 0)) notes.push(`stream entries left after every task was acked: ${lengths.join(', ')}`);
  if (handled !== job.tasks) notes.push(`handler ran ${handled} times for ${job.tasks} tasks`);
  await worker.close();

  const left = await probe.leftBehind(memoryBefore, `*${job.prefix}*`, job.memoryWaitMs);
  const rate = job.side === 'sq-rate' ? achievedRate(startedAt, RATE.max, RATE.perMs) : undefined;
  return {
    tasks: job.tasks,
    elapsedMs,
    cpuMicrosPerTask,
    redisCpuMicrosPerTask,
    firstTaskMs: firstTask - t0,
    tracedTasks,
    commands,
    ...left,
    ...(rate ? { rate } : {}),
    notes,
  };
}

async function latency({ job, probe }: RunEnv): Promise<ScenarioResult> {
  const samples = new SampleRecorder();
  const app = await createContext(job, { worker: true }, { onTask: (p) => samples.record(now() - p.t) });
  const client = app.get(QueueClient);
  await sleep(250); // let the worker settle into its blocking read

  const total = Math.round(job.rate * job.seconds);
  const window = await probe.window();
  const t0 = now();
  await atSteadyRate(job.rate, job.seconds, (i) => client.enqueue(TASK_NAME, payload(i)));
  await waitFor(
    () => samples.count >= total,
    budgetMs(total),
    () => `${total} handler starts (saw ${samples.count})`,
  );
  const elapsedMs = now() - t0;
  const commands = await window.end();
  await app.close();
  return { tasks: total, elapsedMs, commands, latency: samples.summary(), notes: [] };
}

/** Times `app.close()` of a worker: (a) idle after consuming, (b) with CLOSE_IN_FLIGHT runs in flight. */
async function close({ job }: RunEnv): Promise<ScenarioResult> {
  const notes: string[] = [];
  const concurrency = CLOSE_IN_FLIGHT;

  let handled = 0;
  const idle = await createContext(job, { worker: true, concurrency }, { onTask: () => void handled++ });
  const idleClient = idle.get(QueueClient);
  const warmups = await Promise.all(
    itemsOf(job.side, 0, CLOSE_WARMUP).map((t) => idleClient.enqueue(t.name, t.payload)),
  );
  await Promise.all(warmups.map((h) => h.result({ timeoutMs: 30_000 })));
  await sleep(250); // settled back into its blocking read
  let t0 = now();
  await idle.close();
  const closeIdleMs = now() - t0;

  let started = 0;
  let finished = 0;
  const slow: HandlerProbe = {
    onTask: async () => {
      started++;
      await sleep(CLOSE_HANDLER_MS);
      finished++;
    },
  };
  const busy = await createContext(job, { worker: true, concurrency }, slow);
  const busyClient = busy.get(QueueClient);
  await busyClient.enqueueMany(itemsOf(job.side, 0, CLOSE_IN_FLIGHT));
  await waitFor(
    () => started >= CLOSE_IN_FLIGHT,
    30_000,
    () => `${CLOSE_IN_FLIGHT} runs in flight (saw ${started})`,
  );
  t0 = now();
  await busy.close();
  const closeBusyMs = now() - t0;
  if (finished !== CLOSE_IN_FLIGHT) notes.push(`close returned with ${finished} of ${CLOSE_IN_FLIGHT} runs finished`);
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
