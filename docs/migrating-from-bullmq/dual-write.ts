// The producer's switch during a migration: one task type at a time moves from BullMQ to
// nest-stream-queue. Compiled against bullmq's Queue and this library's QueueClient.
import type { Queue } from 'bullmq';
import type { QueueClient, TaskHandle } from 'nest-stream-queue';

// #region switch
/** Task names whose producers now enqueue on nest-stream-queue (from config, a flag service...). */
export type MovedTasks = ReadonlySet<string>;

export async function dispatch(
  moved: MovedTasks,
  bull: Queue,
  client: QueueClient,
  task: { name: string; queue: string; payload: object; key?: string },
): Promise<{ via: 'bullmq'; id: string | undefined } | { via: 'stream-queue'; handle: TaskHandle }> {
  if (!moved.has(task.name)) {
    const job = await bull.add(task.name, task.payload, task.key ? { jobId: task.key } : {});
    return { via: 'bullmq', id: job.id };
  }
  const handle = await client.enqueue(task.name, task.payload, { key: task.key, queue: task.queue });
  return { via: 'stream-queue', handle };
}
// #endregion
