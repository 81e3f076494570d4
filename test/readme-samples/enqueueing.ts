// README.md, "Enqueueing": the region below is that section's sample, kept compiled (npm run
// typecheck) and identical to the README (test/unit/readme-samples.spec.ts, and CI's
// node tools/check-doc-samples.js --marked README.md). The parameters stand for an app's values.
import type { QueueClient, TaskHandle } from 'nest-stream-queue';

export async function enqueueing(
  client: QueueClient,
  userId: string,
  pages: number,
  payload: { text: string },
  taskId: string,
  saved: ReturnType<TaskHandle['toJSON']>,
) {
  // #region enqueueing
  await client.enqueue('report.build', { userId }, { key: `report:${userId}` }); // idempotent by key
  await client.enqueue('reminder', payload, { delayMs: 60_000 }); // Redis's clock
  await client.enqueue('reminder', payload, { runAt: new Date('2027-01-01T09:00:00Z') });
  await client.replace('report.build', { userId, pages }, { key: `report:${userId}` });
  await client.cancel(`report:${userId}`); // true if something was live
  await client.status(`report:${userId}`); // { state, id, generation, attempt, enqueuedAt, startedAt, ... }
  const handle = client.handle(taskId, { queue: 'reports' }); // a task enqueued elsewhere
  client.handle(saved.id, saved); // saved = an earlier handle's toJSON(): name, key, generation, entry id
  // #endregion
  return handle;
}
