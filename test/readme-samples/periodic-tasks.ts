// README.md, "Periodic tasks": the regions below are that section's samples, kept compiled (npm run
// typecheck) and identical to the README (test/unit/readme-samples.spec.ts, and CI's
// node tools/check-doc-samples.js --marked README.md).
import { Injectable } from '@nestjs/common';
import { Task } from 'nest-stream-queue';

@Injectable()
export class PeriodicTasks {
  // #region periodic-tasks
  @Task('cache.refresh', { every: '30s' })
  refresh() {
    /* ... */
  }

  @Task('digest.send', { cron: '0 8 * * 1-5', timezone: 'Europe/Paris' })
  digest() {
    /* ... */
  }
  // #endregion
}

// #region periodic-retime
import { periodicKey, QueueClient } from 'nest-stream-queue';

export async function retime(client: QueueClient) {
  await client.replace('cache.refresh', null, { key: periodicKey('cache.refresh'), every: '5s' });
}
// #endregion
