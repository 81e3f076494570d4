import { Injectable, Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { Task, type TaskContext } from 'nest-stream-queue';

export interface ReportRequest {
  userId: string;
  pages: number;
}

export interface Report {
  userId: string;
  pages: number;
  url: string;
  attempt: number;
  generation: number;
  /** Which process ran it, to see work spread over workers. */
  worker: string;
}

export const GENERATE_REPORT = 'reports.generate';
const MS_PER_PAGE = 100;

/** A slow, cancellable task: one page every 100 ms, stopping as soon as ctx.signal aborts. */
@Injectable()
export class ReportsTasks {
  private readonly logger = new Logger('ReportsTasks');

  @Task(GENERATE_REPORT, { queue: 'reports', timeoutMs: 60_000 })
  async generate({ userId, pages }: ReportRequest, ctx: TaskContext): Promise<Report> {
    this.logger.log(
      `report ${ctx.id} for ${userId}: ${pages} pages (generation ${ctx.generation}, attempt ${ctx.attempt})`,
    );
    const every = Math.max(1, Math.ceil(pages / 5));
    for (let page = 1; page <= pages; page++) {
      // Passing the signal makes the sleep reject at once on replace(), cancel(), timeout or shutdown.
      await sleep(MS_PER_PAGE, undefined, { signal: ctx.signal });
      if (page % every === 0 || page === pages) this.logger.log(`report ${ctx.id}: page ${page}/${pages}`);
    }
    return {
      userId,
      pages,
      url: `/files/report-${ctx.id}.pdf`,
      attempt: ctx.attempt,
      generation: ctx.generation,
      worker: `pid ${process.pid}`,
    };
  }
}
