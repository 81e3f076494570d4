import { Injectable, Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { Task, type TaskContext } from 'nest-stream-queue';

export interface Email {
  to: string;
  subject: string;
}

export const SEND_EMAIL = 'emails.send';
/** Share of attempts that fail with a transient error, to show retries with backoff. */
const FLAKINESS = 0.3;

/**
 * A flaky task: about a third of attempts fail and are retried with exponential backoff; an
 * address containing "bounce" fails every time and ends in the dead-letter stream.
 */
@Injectable()
export class EmailsTasks {
  private readonly logger = new Logger('EmailsTasks');

  @Task(SEND_EMAIL, {
    queue: 'emails',
    maxAttempts: 4,
    backoff: { type: 'exponential', delayMs: 500, maxDelayMs: 4_000 },
  })
  async send(
    { to, subject }: Email,
    ctx: TaskContext,
  ): Promise<{ to: string; messageId: string; attempt: number; worker: string }> {
    await sleep(50 + Math.random() * 100, undefined, { signal: ctx.signal });
    if (to.includes('bounce')) throw new Error(`550 mailbox ${to} does not exist`);
    if (Math.random() < FLAKINESS) {
      this.logger.warn(`email ${ctx.id} to ${to}: SMTP timeout on attempt ${ctx.attempt}`);
      throw new Error('421 SMTP server busy, try again later');
    }
    this.logger.log(`email ${ctx.id} to ${to} sent: "${subject}" (attempt ${ctx.attempt})`);
    return { to, messageId: `<${ctx.id}@sample.local>`, attempt: ctx.attempt, worker: `pid ${process.pid}` };
  }
}
