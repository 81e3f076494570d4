/**
 * How long one group's flood delays another group's single task (issue 11's fairness):
 * `node -r ts-node/register/transpile-only bench/fairness-wait.ts` (REDIS_URL, default
 * redis://127.0.0.1:6379; FAIRNESS_TASKS, default 100000; FAIRNESS_ROUNDS, default 3;
 * FAIRNESS_RUN_MS, each run's duration, default 5).
 *
 * A task under `groupConcurrency: 2`, one worker at concurrency 50. Per round and shape, the
 * flood is enqueued first, the worker starts, and once its runs flow a single task of group B is
 * enqueued. Measured (one process, one clock): B's wait, from just before its enqueue to its
 * handler's call, and how many runs of other groups started in between. Shapes:
 *   one flood    FAIRNESS_TASKS tasks of group A;
 *   100 groups   the same number spread over 100 groups (1,000 each at the default).
 * The bound it is held to: about one round over the active groups, that is at most one run per
 * slot of each active group ahead of B (2 per group here; the worker's concurrency bounds it too).
 * The worker is closed once B started (the rest of the flood is not drained), and the keys,
 * under a random prefix, deleted.
 */
import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { QueueClient, StreamQueueModule, Task } from '../lib';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const tasks = Number(process.env.FAIRNESS_TASKS ?? 100_000);
const rounds = Number(process.env.FAIRNESS_ROUNDS ?? 3);
const runMs = Number(process.env.FAIRNESS_RUN_MS ?? 5);
const GROUP_CONCURRENCY = 2;
const CONCURRENCY = 50;

interface Start {
  readonly group: string;
  readonly at: number;
}
const starts: Start[] = [];

@Injectable()
class FairTask {
  @Task('fair', { groupConcurrency: GROUP_CONCURRENCY })
  async run(payload: { group: string }): Promise<void> {
    starts.push({ group: payload.group, at: Date.now() });
    await sleep(runMs);
  }
}

async function app(prefix: string, worker: boolean) {
  @Module({
    imports: [StreamQueueModule.forRoot({ connection: { url }, prefix, worker, concurrency: CONCURRENCY })],
    providers: [FairTask],
  })
  class M {}
  return NestFactory.createApplicationContext(M, { logger: false });
}

interface Shape {
  readonly name: string;
  readonly groups: number;
}

interface Measured {
  readonly waitMs: number;
  readonly startedBetween: number;
}

async function measure(shape: Shape, redis: Redis): Promise<Measured> {
  const prefix = `sq-fairness-${randomUUID()}`;
  starts.length = 0;
  const producer = await app(prefix, false);
  const client = producer.get(QueueClient);
  for (let i = 0; i < tasks; i += 1000) {
    const items = Array.from({ length: Math.min(1000, tasks - i) }, (_, k) => {
      const group = shape.groups === 1 ? 'A' : `g${(i + k) % shape.groups}`;
      return { name: 'fair', payload: { group }, options: { group } };
    });
    await client.enqueueMany(items);
  }
  const worker = await app(prefix, true);
  while (starts.length < 4 * CONCURRENCY) await sleep(5);
  const enqueuedAt = Date.now();
  await client.enqueue('fair', { group: 'B' }, { group: 'B' });
  let b: Start | undefined;
  while (!(b = starts.find((s) => s.group === 'B'))) await sleep(1);
  const startedBetween = starts.filter((s) => s.group !== 'B' && s.at >= enqueuedAt && s.at <= b!.at).length;
  await worker.close();
  await producer.close();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `*${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  return { waitMs: b.at - enqueuedAt, startedBetween };
}

async function main(): Promise<void> {
  const redis = new Redis(url);
  const shapes: Shape[] = [
    { name: `one flood: ${tasks.toLocaleString('en-US')} tasks of group A`, groups: 1 },
    { name: `100 groups: ${(tasks / 100).toLocaleString('en-US')} tasks each`, groups: 100 },
  ];
  const rows: string[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const shape of shapes) {
      const m = await measure(shape, redis);
      const bound = shape.groups * GROUP_CONCURRENCY;
      rows.push(`| ${round} | ${shape.name} | ${m.waitMs} | ${m.startedBetween} | ${bound} |`);
      console.log(rows[rows.length - 1]);
    }
  }
  await redis.quit();
  console.log(
    [
      '',
      `groupConcurrency ${GROUP_CONCURRENCY}, one worker at concurrency ${CONCURRENCY}, runs of ${runMs} ms`,
      '',
      "| round | flood | B's wait, ms | runs of other groups started before B | one round: slots of the active groups |",
      '|--:|---|--:|--:|--:|',
      ...rows,
    ].join('\n'),
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
