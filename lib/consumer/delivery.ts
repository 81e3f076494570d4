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

  /** Settles with `work`, or rejects with the reason as soon as the delivery is aborted. */
  race<T>(work: Promise<T>): Promise<T> {
    if (this.aborted) {
      work.catch(() => undefined); // the handler's own rejection, later, is not an unhandled one
      return Promise.reject(this.reason);
    }
    return new Promise<T>((resolve, reject) => {
      this.onAbort = reject;
      work.then(
        (value) => {
          this.onAbort = undefined;
          resolve(value);
        },
        (error: unknown) => {
          this.onAbort = undefined;
          reject(error);
        },
      );
    });
  }
}
