// README.md, "Flow control" and its "Rate limits": the regions below are those sections' samples,
// kept compiled (npm run typecheck) and identical to the README (test/unit/readme-samples.spec.ts,
// and CI's node tools/check-doc-samples.js --marked README.md).
/* eslint-disable no-unused-vars -- the README's handler stubs name the parameters a handler is given */
import { Injectable } from '@nestjs/common';
import { Task, type QueueClient, type TaskContext } from 'nest-stream-queue';

@Injectable()
export class FlowControlledTasks {
  // #region flow-control-task
  @Task('sync-tenant', { globalConcurrency: 10, groupConcurrency: 1 })
  syncTenant(payload: { tenant: string }) {
    /* ... */
  }
  // #endregion

  // #region rate-limits-task
  @Task('call-partner-api', { rateLimit: { max: 100, perMs: 1_000 }, groupRateLimit: { max: 5, perMs: 1_000 } })
  callPartner(payload: { account: string }, ctx: TaskContext) {
    /* ctx.startedAt: Redis ms */
  }
  // #endregion
}

export async function flowControl(client: QueueClient) {
  // #region flow-control-enqueue
  await client.enqueue('sync-tenant', { tenant: 't1' }, { group: 't1', priority: 2 });
  // #endregion
}

export async function rateLimits(client: QueueClient) {
  // #region rate-limits-enqueue
  await client.enqueue('call-partner-api', { account: 'a1' }, { group: 'a1' });
  // #endregion
}
