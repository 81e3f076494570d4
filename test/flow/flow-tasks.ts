import { Injectable, Module } from '@nestjs/common';
import { Task, type TaskContext } from '../../lib';
import { Latch, sleep } from '../utils/helpers';

/** What the flow handlers saw, shared by every app of a spec (they run in one process). */
export class FlowLedger {
  readonly running = new Map<string, number>();
  readonly most = new Map<string, number>();
  readonly starts: Array<{ task: string; group: string; payload: unknown; at: number; attempt: number }> = [];
  readonly done: string[] = [];
  /** Runs of 'flow.one' whose payload says `block` wait here. */
  gate = new Latch();
  /** 'flow.retry' fails its first attempt. */
  runMs = 20;
  /** Runs of 'flow.flaky' whose payload says `fail` throw while this is set. */
  failing = false;

  async run(
    task: string,
    payload: { group?: string; block?: boolean } | null,
    ctx: TaskContext,
    work: () => Promise<void>,
  ) {
    const group = payload?.group ?? '';
    const scopes = [task, `${task}/${group}`];
    for (const s of scopes) {
      const now = (this.running.get(s) ?? 0) + 1;
      this.running.set(s, now);
      this.most.set(s, Math.max(now, this.most.get(s) ?? 0));
    }
    this.starts.push({ task, group, payload, at: Date.now(), attempt: ctx.attempt });
    try {
      await work();
    } finally {
      for (const s of scopes) this.running.set(s, this.running.get(s)! - 1);
    }
    this.done.push(ctx.id);
  }

  reset(): void {
    this.running.clear();
    this.most.clear();
    this.starts.length = 0;
    this.done.length = 0;
    this.gate = new Latch();
    this.runMs = 20;
    this.failing = false;
  }
}

export const ledger = new FlowLedger();

@Injectable()
export class FlowTasks {
  @Task('flow.global', { globalConcurrency: 2 })
  global(payload: { group?: string }, ctx: TaskContext) {
    return ledger.run('flow.global', payload, ctx, () => sleep(ledger.runMs));
  }

  /** A limit far above any test's task count: it never binds. */
  @Task('flow.wide', { globalConcurrency: 10_000 })
  wide(payload: { group?: string }, ctx: TaskContext) {
    return ledger.run('flow.wide', payload, ctx, () => sleep(ledger.runMs));
  }

  @Task('flow.group', { groupConcurrency: 1 })
  group(payload: { group?: string }, ctx: TaskContext) {
    return ledger.run('flow.group', payload, ctx, () => sleep(ledger.runMs));
  }

  @Task('flow.fair', { groupConcurrency: 2 })
  fair(payload: { group?: string }, ctx: TaskContext) {
    return ledger.run('flow.fair', payload, ctx, () => sleep(ledger.runMs));
  }

  /** A limit of about twice the worker's concurrency: the README's way to order a backlog by priority. */
  @Task('flow.backlog', { globalConcurrency: 4 })
  backlog(_payload: { p?: number }, ctx: TaskContext) {
    return ledger.run('flow.backlog', null, ctx, () => sleep(ledger.runMs));
  }

  @Task('flow.one', { globalConcurrency: 1 })
  one(payload: { block?: boolean }, ctx: TaskContext) {
    return ledger.run('flow.one', payload, ctx, () => (payload?.block ? ledger.gate.wait() : Promise.resolve()));
  }

  @Task('flow.retry', { globalConcurrency: 1, maxAttempts: 2, backoff: { type: 'fixed', delayMs: 10, jitter: false } })
  retry(payload: { block?: boolean }, ctx: TaskContext) {
    return ledger.run('flow.retry', payload, ctx, async () => {
      if (payload?.block) return ledger.gate.wait();
      if (ctx.attempt === 1) throw new Error('first attempt fails');
    });
  }

  @Task('flow.flaky', { globalConcurrency: 1, maxAttempts: 1 })
  flaky(payload: { block?: boolean; fail?: boolean }, ctx: TaskContext) {
    return ledger.run('flow.flaky', payload, ctx, async () => {
      if (payload?.block) return ledger.gate.wait();
      if (payload?.fail && ledger.failing) throw new Error('fails while failing is set');
    });
  }
}

@Module({ providers: [FlowTasks] })
export class FlowTasksModule {}
