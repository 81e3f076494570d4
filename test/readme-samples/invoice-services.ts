import { Injectable } from '@nestjs/common';

/** The renderer the README's fencing sample injects; an application's own would render a PDF. */
@Injectable()
export class InvoiceRenderer {
  async render(_invoiceId: string, _options: { signal: AbortSignal }): Promise<Buffer> {
    return Buffer.alloc(0);
  }
}

/** The database client that sample injects; an application's own would send the query. */
@Injectable()
export class Database {
  async query(_sql: string, _params: unknown[]): Promise<void> {}
}
