/**
 * What fleet events cost a worker's drain: `node -r ts-node/register/transpile-only bench/events-cost.ts`
 * (REDIS_URL, default redis://127.0.0.1:6379; EVENTS_COST_TASKS, default 4000; EVENTS_COST_ROUNDS, 3).
 * Per round, unwatched and watched alternate: a producer pre-fills the queue with no-op tasks, a
 * worker app starts and drains them, timed from its start to its last completion. Watched, an
 * events() subscriber receives every event. Keys live under a random prefix, deleted at the end.
 */
import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { QueueClient, StreamQueueEvents, StreamQueueModule, Task } from '../lib';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const tasks = Number(process.env.EVENTS_COST_TASKS ?? 4000);
const rounds = Number(process.env.EVENTS_COST_ROUNDS ?? 3);

@Injectable()
class Noop {
  @Task('noop')
  run(): void {}
}

async function app(prefix: string, worker: boolean) {
  @Module({
    imports: [StreamQueueModule.forRoot({ connection: { url }, prefix, worker, concurrency: 32 })],
    providers: [Noop],
  })
  class M {}
  return NestFactory.createApplicationContext(M, { logger: false });
}

async function drain(watched: boolean): Promise<{ ms: number; received: number }> {
  const prefix = `sq-events-cost-${randomUUID()}`;
  const producer = await app(prefix, false);
  const client = producer.get(QueueClient);
  let received = 0;
  const subscription = watched ? client.events().subscribe(() => received++) : undefined;
  for (let i = 0; i < tasks; i += 500)
    await client.enqueueMany(Array.from({ length: Math.min(500, tasks - i) }, () => ({ name: 'noop', payload: null })));
  const started = performance.now();
  const worker = await app(prefix, true);
  const events = worker.get(StreamQueueEvents);
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => events.counters().completed >= tasks && (clearInterval(timer), resolve()), 5);
  });
  const ms = performance.now() - started;
  subscription?.unsubscribe();
  await worker.close();
  await producer.close();
  const redis = new Redis(url);
  const keys = await redis.keys(`{${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
  return { ms, received };
}

async function main(): Promise<void> {
  const rows: string[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const watched of round % 2 ? [true, false] : [false, true]) {
      const { ms, received } = await drain(watched);
      rows.push(
        `round ${round + 1} ${watched ? 'watched  ' : 'unwatched'} ${Math.round((tasks / ms) * 1000)} tasks/s (${received} events received)`,
      );
      console.log(rows[rows.length - 1]);
    }
  }
}

void main().then(() => process.exit(0));
