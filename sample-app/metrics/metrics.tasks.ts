import { Injectable, Logger } from '@nestjs/common';
import { StreamQueueEvents, Task, type TaskContext } from 'nest-stream-queue';

export interface MetricsSnapshot {
  at: string;
  generation: number;
  rssMb: number;
  heapUsedMb: number;
  completed: number;
  failed: number;
  worker: string;
}

export const SNAPSHOT_METRICS = 'metrics.snapshot';
export const METRICS_QUEUE = 'metrics';

const mb = (bytes: number): number => Math.round(bytes / 1_048_576);

/**
 * A periodic task: once per period for the whole queue, whichever worker picks it up. POST
 * /schedules/metrics.snapshot re-times it. Every slot is a new generation of its key, so the
 * logged generation counts runs, and the run a re-timing supersedes shows as a skipped number.
 */
@Injectable()
export class MetricsTasks {
  private readonly logger = new Logger('MetricsTasks');

  constructor(private readonly events: StreamQueueEvents) {}

  // Short-lived results: a run every few seconds would otherwise keep an hour of them.
  @Task(SNAPSHOT_METRICS, { every: '10s', queue: METRICS_QUEUE, resultTtlMs: 60_000 })
  snapshot(_payload: null, ctx: TaskContext): MetricsSnapshot {
    const { rss, heapUsed } = process.memoryUsage();
    const { completed, failed } = this.events.counters();
    this.logger.log(
      `snapshot ${ctx.id} (generation ${ctx.generation}): rss ${mb(rss)} MB, heap ${mb(heapUsed)} MB, ${completed} tasks completed and ${failed} failed here`,
    );
    return {
      at: new Date().toISOString(),
      generation: ctx.generation,
      rssMb: mb(rss),
      heapUsedMb: mb(heapUsed),
      completed,
      failed,
      worker: `pid ${process.pid}`,
    };
  }
}
