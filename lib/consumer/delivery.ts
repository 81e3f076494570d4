import type { TaskMessage } from '../task/task-message';

/**
 * @internal A delivery this process holds, from the read until Redis settled it. Its abort is
 * lazy: most runs are never aborted and never read `ctx.signal`, and an AbortController per
 * task is a measurable share of a no-op task's cost, so one is made only when asked for.
 */
export class Delivery {
  private controller?: AbortController;
  private reason?: unknown;
  private aborted = false;
  private onAbort?: (reason: unknown) => void;

  /** What the handler returned once this delivery was aborted, had it finished within the grace. */
  lateValue?: { readonly value: unknown };

  constructor(readonly message: TaskMessage) {}

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  get isAborted(): boolean {
    return this.aborted;
  }

  get abortReason(): unknown {
    return this.reason;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
    this.onAbort?.(reason);
  }

  /**
   * Settles with `work`. Once the delivery is aborted it rejects with the abort reason when the
   * handler stops (a handler that honours ctx.signal returns promptly), or after `graceMs` if it
   * does not: so a key is released, and a newer generation starts, only after the old handler
   * has stopped whenever it cooperates.
   */
  race<T>(work: Promise<T>, graceMs: number): Promise<T> {
    if (this.aborted) {
      work.catch(() => undefined); // the handler's own rejection, later, is not an unhandled one
      return Promise.reject(this.reason);
    }
    return new Promise<T>((resolve, reject) => {
      let grace: NodeJS.Timeout | undefined;
      this.onAbort = (reason) => {
        grace = setTimeout(() => reject(reason), graceMs);
      };
      const done = (settle: () => void) => {
        this.onAbort = undefined;
        clearTimeout(grace);
        if (this.aborted) reject(this.reason);
        else settle();
      };
      work.then(
        (value) => {
          if (this.aborted) this.lateValue = { value };
          done(() => resolve(value));
        },
        (error: unknown) => done(() => reject(error)),
      );
    });
  }
}
