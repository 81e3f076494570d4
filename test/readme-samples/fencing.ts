// README.md, "Fencing your own writes": the region below is that section's sample, kept compiled
// (npm run typecheck) and identical to the README (test/unit/readme-samples.spec.ts, and CI's
// node tools/check-doc-samples.js --marked README.md).
import { Injectable } from '@nestjs/common';
import { Task, type TaskContext } from 'nest-stream-queue';
import { Database, InvoiceRenderer } from './invoice-services';

@Injectable()
export class InvoiceTasks {
  constructor(
    private readonly renderer: InvoiceRenderer,
    private readonly db: Database,
  ) {}

  // #region fencing
  @Task('invoice.render', { timeoutMs: 60_000 })
  async render({ invoiceId }: { invoiceId: string }, ctx: TaskContext) {
    const pdf = await this.renderer.render(invoiceId, { signal: ctx.signal });
    // Applies only if no later run of this key has written already.
    await this.db.query('UPDATE invoices SET pdf = $1, fence = $2 WHERE id = $3 AND fence < $2', [
      pdf,
      ctx.fence,
      invoiceId,
    ]);
  }
  // #endregion
}
