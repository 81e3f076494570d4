/**
 * One measurement of the cluster scenarios, in a fresh process (as child.ts): the drain of one
 * logical queue by nest-stream-queue (partitioned) or BullMQ, on a Redis Cluster or on one Redis.
 * The tasks are enqueued first; the window covers the drain only. Around it, each master's CPU
 * (INFO cpu) and command count (INFO commandstats) are read on a connection of the harness's own.
 */
import 'reflect-metadata';
import { Inject, Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Queue, Worker } from 'bullmq';
import { Cluster, Redis } from 'ioredis';
import { QueueClient, StreamQueueModule, Task, type StreamQueueModuleOptions } from '../lib';
import { cpuClock } from './cpu-clock';
import { budgetMs, inChunks, now, payload, waitFor } from './load';
import { parseCommandStats, totalCommands } from './redis-stats';
import { TASK_NAME } from './scenario';

export interface ClusterJob {
  side: 'sq' | 'bullmq';
  topology: 'cluster' | 'single';
  /** Startup nodes (cluster) or the one server (single). */
  nodes: { host: string; port: number }[];
  prefix: string;
  tasks: number;
  chunk: number;
  concurrency: number;
  partitions: number;
  round: number;
}

/** What one master did during the drain window. */
export interface MasterUsage {
  port: number;
  /** used_cpu_user + used_cpu_sys during the drain, in ms. */
  cpuMs: number;
  /** The same while the tasks were enqueued (enqueueMany in chunks), before the drain. */
  enqueueCpuMs: number;
  commands: number;
  /** Calls by command name (INFO commandstats delta). */
  byCommand: Record<string, number>;
}

export interface ClusterMeasurement {
  job: ClusterJob;
  elapsedMs: number;
  masters: MasterUsage[];
  notes: string[];
}

export type ClusterChildMessage = { ok: true; measurement: ClusterMeasurement } | { ok: false; error: string };

const COUNTER = Symbol('BENCH_COUNTER');

@Injectable()
class CountedNoop {
  constructor(@Inject(COUNTER) private readonly counter: { handled: number }) {}

  @Task(TASK_NAME)
  noop(): void {
    this.counter.handled++;
  }
}

/** The masters now: CLUSTER NODES of a cluster, or the one server. */
async function masters(job: ClusterJob): Promise<Redis[]> {
  const [first] = job.nodes;
  if (job.topology === 'single') return [new Redis(first.port, first.host)];
  const seed = new Redis(first.port, first.host);
  const lines = String(await seed.cluster('NODES'))
    .trim()
    .split('\n');
  seed.disconnect();
  return lines
    .map((line) => line.split(' '))
    .filter((fields) => fields[2].includes('master') && !fields[2].includes('fail'))
    .map((fields) => {
      const [host, port] = fields[1].split('@')[0].split(':');
      return new Redis(Number(port), host);
    });
}

async function usage(redis: Redis): Promise<{ cpuMs: number; byCommand: Record<string, number> }> {
  const cpu = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(cpu)?.[1] ?? 0);
  const byCommand = parseCommandStats(await redis.info('commandstats'));
  return { cpuMs: (field('used_cpu_user') + field('used_cpu_sys')) * 1000, byCommand };
}

function delta(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(after)
      .map(([name, calls]) => [name, calls - (before[name] ?? 0)] as const)
      .filter(([name, calls]) => calls > 0 && name !== 'info'),
  );
}

function items(start: number, count: number) {
  return Array.from({ length: count }, (_, k) => ({ name: TASK_NAME, payload: payload(start + k) }));
}

async function sqApp(job: ClusterJob, worker: boolean, counter = { handled: 0 }) {
  const connection: StreamQueueModuleOptions['connection'] =
    job.topology === 'cluster'
      ? { cluster: { nodes: job.nodes } }
      : { host: job.nodes[0].host, port: job.nodes[0].port };
  @Module({
    imports: [
      StreamQueueModule.forRoot({
        connection,
        prefix: job.prefix,
        concurrency: job.concurrency,
        worker,
        queues: { default: { partitions: job.partitions } },
      }),
    ],
    providers: [CountedNoop, { provide: COUNTER, useValue: counter }],
  })
  class ClusterBenchModule {}
  const app = await NestFactory.createApplicationContext(ClusterBenchModule, {
    logger: ['error', 'warn'],
    abortOnError: false,
  });
  await app.init();
  return app;
}

/** Enqueues, then returns the drain: started by `run`, resolved once every task settled. */
async function sqDrain(job: ClusterJob): Promise<() => Promise<void>> {
  const producer = await sqApp(job, false);
  const client = producer.get(QueueClient);
  await inChunks(job.tasks, job.chunk, (start, count) => client.enqueueMany(items(start, count)));
  await producer.close();
  return async () => {
    const counter = { handled: 0 };
    const worker = await sqApp(job, true, counter);
    const what = () => `${job.tasks} handler calls (saw ${counter.handled})`;
    await waitFor(() => counter.handled >= job.tasks, budgetMs(job.tasks), what);
    const settled = async () => (await worker.get(QueueClient).counts()).running === 0;
    await waitFor(settled, 30_000, 'every run settled', 20);
    await worker.close();
  };
}

function bullConnection(job: ClusterJob): Cluster | { host: string; port: number; maxRetriesPerRequest: null } {
  const [first] = job.nodes;
  if (job.topology === 'single') return { host: first.host, port: first.port, maxRetriesPerRequest: null };
  return new Cluster(job.nodes, { redisOptions: { maxRetriesPerRequest: null } });
}

async function bullDrain(job: ClusterJob): Promise<() => Promise<void>> {
  // A hash tag keeps every key of the queue in one slot, as BullMQ requires on a cluster.
  const prefix = `{${job.prefix}}`;
  const queue = new Queue('bench', {
    connection: bullConnection(job),
    prefix,
    defaultJobOptions: { removeOnComplete: true, removeOnFail: true },
  });
  await inChunks(job.tasks, job.chunk, (start, count) =>
    queue.addBulk(items(start, count).map((t) => ({ name: t.name, data: t.payload }))),
  );
  await queue.close();
  return async () => {
    let completed = 0;
    const worker = new Worker('bench', async () => undefined, {
      connection: bullConnection(job),
      prefix,
      concurrency: job.concurrency,
    });
    worker.on('completed', () => void completed++);
    worker.on('error', (error) => console.error(`[bullmq worker] ${error.message}`));
    await waitFor(
      () => completed >= job.tasks,
      budgetMs(job.tasks),
      () => `${job.tasks} completions (saw ${completed})`,
    );
    await worker.close();
  };
}

async function main(): Promise<ClusterChildMessage> {
  const job = JSON.parse(process.env.BENCH_CLUSTER_JOB ?? 'null') as ClusterJob | null;
  if (!job) return { ok: false, error: 'BENCH_CLUSTER_JOB is not set: cluster-child.ts is started by bench/main.ts' };
  const probes = await masters(job);
  try {
    const start = await Promise.all(probes.map(usage));
    const drain = job.side === 'sq' ? await sqDrain(job) : await bullDrain(job);
    const before = await Promise.all(probes.map(usage));
    const cpuPerTask = cpuClock(job.tasks);
    const t0 = now();
    await drain();
    const elapsedMs = now() - t0;
    const cpuMicrosPerTask = cpuPerTask();
    const after = await Promise.all(probes.map(usage));
    return {
      ok: true,
      measurement: {
        job,
        elapsedMs,
        masters: probes.map((redis, i) => {
          const byCommand = delta(after[i].byCommand, before[i].byCommand);
          return {
            port: redis.options.port ?? 0,
            cpuMs: after[i].cpuMs - before[i].cpuMs,
            enqueueCpuMs: before[i].cpuMs - start[i].cpuMs,
            commands: totalCommands(byCommand),
            byCommand,
          };
        }),
        notes: [`worker CPU ${cpuMicrosPerTask.toFixed(1)} µs/task`],
      },
    };
  } finally {
    probes.forEach((redis) => redis.disconnect());
  }
}

function report(message: ClusterChildMessage): void {
  if (process.send) process.send(message, () => process.disconnect());
  else console.log(JSON.stringify(message, null, 2));
}

main().then(report, (err: unknown) =>
  report({ ok: false, error: err instanceof Error ? (err.stack ?? err.message) : `non-Error thrown: ${String(err)}` }),
);
