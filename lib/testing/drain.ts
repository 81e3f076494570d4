import type { INestApplicationContext } from '@nestjs/common';
import { ApplicationClosedError, InvalidOptionError } from '../errors';
import { DrainTimeoutError, type QueueBacklog } from '../errors/drain-timeout.error';
import { QueuePartitions } from '../partitions/queue-partitions';
import { RedisConnections } from '../redis/redis-connections';
import { partitionsOf, type StreamQueueConfig } from '../stream-queue.config';
import { MAX_TIMER_MS, STREAM_QUEUE_CONFIG } from '../stream-queue.constants';
import { TaskRegistry } from '../task/task.registry';
import { queueBacklog } from './queue-backlog';

/** @publicApi */
export interface DrainOptions {
  /** Reject with `DrainTimeoutError` after this long. Default 10 000 ms. */
  timeoutMs?: number;
  /** How often the queues are read. Default 20 ms. */
  intervalMs?: number;
}

/** Passes in a row that must find every queue empty; see the second-pass note below. */
const EMPTY_PASSES = 2;

/**
 * Resolves once every queue that has a `@Task` handler in `app` is empty: nothing waiting in the
 * stream or for a flow-control slot or rate token, nothing running (read and not yet settled),
 * nothing delayed and already due. Delayed
 * tasks due later (a retry's backoff, the next periodic run) do not hold it up. Rejects with a
 * `DrainTimeoutError` that lists what each queue still holds after `timeoutMs`.
 *
 * Two passes in a row must agree: a run that enqueues into another queue and settles between the
 * reads of one pass is seen by the next. Reads the app's own Redis connection; the app keeps running.
 * @publicApi
 */
export async function drain(app: INestApplicationContext, options: DrainOptions = {}): Promise<void> {
  if (options === null || typeof options !== 'object')
    throw new InvalidOptionError('options', 'an object { timeoutMs?, intervalMs? }', options);
  // A timeout that is not a number would never be reached: drain would wait for ever.
  const timeoutMs = checkMs('timeoutMs', options.timeoutMs ?? 10_000);
  const intervalMs = checkMs('intervalMs', options.intervalMs ?? 20);
  const config = app.get<StreamQueueConfig>(STREAM_QUEUE_CONFIG, { strict: false });
  const connections = app.get(RedisConnections, { strict: false });
  if (connections.isClosed) throw new ApplicationClosedError('The application is closed: drain() read nothing.');
  const redis = connections.commands;
  const queues = app.get(TaskRegistry, { strict: false }).queues();
  // Every partition of each queue (see QueuePartitions): a partitioned queue is empty only when all are.
  const partitions = queues.map((queue) => new QueuePartitions(config.prefix, queue, partitionsOf(config, queue)));
  const deadline = Date.now() + timeoutMs;
  let emptyPasses = 0;
  for (;;) {
    const [seconds, micros] = await redis.time();
    const nowMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    const left: Record<string, QueueBacklog> = {};
    for (const queue of partitions) {
      const backlog = { waiting: 0, running: 0, due: 0 };
      for (const keys of queue.all) {
        const part = await queueBacklog(redis, keys, nowMs);
        backlog.waiting += part.waiting;
        backlog.running += part.running;
        backlog.due += part.due;
      }
      if (backlog.waiting + backlog.running + backlog.due > 0) left[queue.queue] = backlog;
    }
    emptyPasses = Object.keys(left).length === 0 ? emptyPasses + 1 : 0;
    if (emptyPasses >= EMPTY_PASSES) return;
    if (Date.now() >= deadline && emptyPasses === 0) throw new DrainTimeoutError(timeoutMs, left);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

function checkMs(option: string, value: unknown): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0 || (value as number) > MAX_TIMER_MS)
    throw new InvalidOptionError(option, `an integer from 0 to ${MAX_TIMER_MS} (ms)`, value);
  return value as number;
}
