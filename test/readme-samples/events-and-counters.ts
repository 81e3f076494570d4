// README.md, "Events and counters": the region below is that section's sample, kept compiled (npm
// run typecheck) and identical to the README (test/unit/readme-samples.spec.ts, and CI's
// node tools/check-doc-samples.js --marked README.md). The parameters stand for an app's values.
import type { INestApplicationContext, Logger } from '@nestjs/common';
import { StreamQueueEvents } from 'nest-stream-queue';

export function eventsAndCounters(app: INestApplicationContext, logger: Logger) {
  // #region events-and-counters
  const events = app.get(StreamQueueEvents);
  events.on('completion-refused', (e) => logger.warn(`fenced: ${e.taskId} ${e.detail}`));
  events.counters();
  // { completed, failed, 'retry-scheduled', 'dead-lettered', reclaimed,
  //   'lease-lost', 'completion-refused', 'superseded-head', 'superseded-tail' }
  // #endregion
}
