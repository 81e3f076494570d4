import { Injectable } from '@nestjs/common';
import { Task, type TaskContext } from 'nest-stream-queue';
import { Mailer, Reports } from './fixtures';

// #region tasks
@Injectable()
export class Emails {
  constructor(private readonly mailer: Mailer) {}

  // was: case 'welcome' in EmailProcessor.process(job), with attempts and backoff on each add()
  @Task('email.welcome', {
    queue: 'emails',
    maxAttempts: 5,
    backoff: { type: 'exponential', delayMs: 1_000, maxDelayMs: 60_000 },
    timeoutMs: 30_000,
  })
  async welcome(payload: { to: string }, ctx: TaskContext) {
    // ctx.id is stable across attempts: the provider's idempotency key
    await this.mailer.send(payload.to, { signal: ctx.signal, idempotencyKey: ctx.id });
    return { sent: payload.to }; // job.returnvalue; a handler that returns nothing stores nothing
  }

  // was: case 'digest'; the same provider may hold tasks of several queues
  @Task('email.digest', { queue: 'emails', resultTtlMs: 0 })
  async digest(payload: { to: string }, ctx: TaskContext) {
    if (ctx.attempt > 1) console.warn(`digest ${ctx.id}: attempt ${ctx.attempt}`); // attemptsMade + 1
    await this.mailer.send(payload.to, { signal: ctx.signal, idempotencyKey: ctx.id });
  }
}

@Injectable()
export class ReportTasks {
  constructor(private readonly reports: Reports) {}

  @Task('report.build', { queue: 'reports', timeoutMs: 120_000 })
  build(payload: { userId: string }, ctx: TaskContext) {
    return this.reports.build(payload.userId, ctx.signal);
  }
}
// #endregion
