import type { TaskContext } from '../../lib';

/**
 * What failover specs check, kept in the test process: every run's start and end per task id,
 * the overlaps (a run of an id starting while another run of it is still going), and the ids
 * that completed. Handlers honour ctx.signal, as the no-overlap promise asks of them.
 */
export class RunLedger {
  readonly starts = new Map<string, number>();
  readonly completed = new Set<string>();
  readonly overlaps: string[] = [];
  private readonly running = new Map<string, number>();

  /** A handler that works `ms`, stopping early when its signal aborts. */
  handler(ms: number): (payload: unknown, ctx: TaskContext) => Promise<unknown> {
    return async (payload, ctx) => {
      const id = ctx.id;
      this.starts.set(id, (this.starts.get(id) ?? 0) + 1);
      if ((this.running.get(id) ?? 0) > 0) this.overlaps.push(id);
      this.running.set(id, (this.running.get(id) ?? 0) + 1);
      try {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, ms);
          ctx.signal.addEventListener('abort', () => {
            clearTimeout(timer);
            reject(new Error('aborted'));
          });
        });
        this.completed.add(id);
        return payload;
      } finally {
        this.running.set(id, this.running.get(id)! - 1);
      }
    };
  }

  /** Ids of `ids` that no run completed. */
  lost(ids: string[]): string[] {
    return ids.filter((id) => !this.completed.has(id));
  }

  /** Ids that started more than once (duplicate side effects, at-least-once). */
  repeated(): string[] {
    return [...this.starts].filter(([, n]) => n > 1).map(([id]) => id);
  }
}
