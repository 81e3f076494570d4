// BullMQ's side of the guide, compiled against the bullmq package this repository installs for
// its benchmark. The @nestjs/bullmq parts (BullModule, @Processor, @InjectQueue, @OnWorkerEvent)
// are not installed here and appear in the guide as text.
import { Queue, QueueEvents, type JobsOptions, type WorkerOptions } from 'bullmq';

// #region job-options
const options: JobsOptions = {
  attempts: 5, // ours: @Task maxAttempts (default 3; BullMQ's default is 1)
  backoff: { type: 'exponential', delay: 1_000 }, // ours: backoff { type, delayMs, maxDelayMs, jitter }
  delay: 60_000, // ours: enqueue { delayMs } or { runAt }
  jobId: 'report:42', // ours: enqueue { key }
  removeOnComplete: { age: 3_600 }, // ours: resultTtlMs (module or @Task)
  removeOnFail: { count: 1_000 }, // ours: the dead-letter stream, capped by deadLetterMaxLen
  priority: 1, // ours: not yet
};
// #endregion

// #region scheduler
async function schedule(queue: Queue) {
  // BullMQ 5.16+: job schedulers; `repeat` on add() is deprecated in 5 and gone from add()'s types in 6
  await queue.upsertJobScheduler('cache.refresh', { every: 30_000 });
  await queue.upsertJobScheduler(
    'digest.send',
    { pattern: '0 8 * * 1-5', tz: 'Europe/Paris' },
    { name: 'digest.send', data: { audience: 'all' } },
  );
}
// #endregion

// #region worker-options
const workerOptions: Partial<WorkerOptions> = {
  concurrency: 50, // ours: module `concurrency`, per queue and process
  lockDuration: 30_000, // ours: leaseMs, held by a heartbeat thread
  stalledInterval: 30_000, // ours: sweepIntervalMs (default 2 000)
  maxStalledCount: 1, // ours: maxDeliveries (default 5), then dead-lettered as poison
  limiter: { max: 10, duration: 1_000 }, // ours: not yet
};
// #endregion

// #region wait
async function waitFor(queue: Queue, events: QueueEvents) {
  const job = await queue.add('report.build', { userId: '42' }, options);
  return job.waitUntilFinished(events, 5_000);
}
// #endregion

export { options, schedule, waitFor, workerOptions };
