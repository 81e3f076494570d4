import type { TaskMessage } from '../task/task-message';
import { Slot } from './slots';

/**
 * @internal A delivery this process holds, from the read until Redis settled it. Its abort is
 * lazy: most runs are never aborted and never read `ctx.signal`, and an AbortController per
 * task is a measurable share of a no-op task's cost, so one is made only when asked for.
 */
export class Delivery {
  private controller?: AbortController;
  private reason?: unknown;
  private aborted = false;
  /** Set when only the handler was asked to stop (see askHandlerToStop). */
  private stopReason?: { readonly reason: unknown };

  /** What the handler returned once this delivery was aborted. */
  lateValue?: { readonly value: unknown };
  /** How long its handler ran, in ms, once it returned (reported with the settle's event). */
  runMs?: number;
  /** A keyed run's fencing number, drawn by the claim script from the queue's sequence. */
  fence?: number;
  /** A rate-limited run's start on Redis's clock (ms), counted in its windows by the claim script. */
  startedAt?: number;
  /** When (monotonicMs) the claim that counted `startedAt` answered: its handler should begin then. */
  startCountedAt?: number;
  /**
   * Set while a rate-limited run waits for a token (a restart into a full window): claim it
   * again after this many ms (see RateHold). Undefined once it may start.
   */
  rateWaitMs?: number;
  /**
   * Set once its handler was called (through the run wrapper, when there is one). A delivery
   * let go before that gives its count back (see giveBackUnstarted): only runs that started
   * count towards maxDeliveries.
   */
  handlerCalled = false;

  constructor(
    readonly message: TaskMessage,
    /**
     * When (monotonicMs) the request was sent whose reply proved the entry this worker's: it may
     * start only if the lease has held without a break since then (see stillOwned).
     */
    public provenAt = 0,
    /** Deliveries of this stream entry so far, this one included (XPENDING's counter). */
    public deliveries = 1,
    /** Its handler slot, freed once: when dropped before running, or when its run is settled. */
    readonly slot: Slot = Slot.detached(),
  ) {}

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
      else if (this.stopReason) this.controller.abort(this.stopReason.reason);
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
  }

  /**
   * Aborts `ctx.signal` without aborting the run: something other than the handler has already
   * decided the run's outcome (an interceptor gave up on it), and a cooperative handler should
   * stop, but the run keeps that outcome and still settles only once the handler has returned.
   */
  askHandlerToStop(reason: unknown): void {
    if (this.aborted || this.stopReason) return;
    this.stopReason = { reason };
    this.controller?.abort(reason);
  }

  /**
   * Settles with `work`, however long the handler takes: an abort is a request to stop, never a
   * release. Aborted before the handler started, it rejects at once. Aborted while it runs, it
   * rejects with the abort reason only once the handler has returned (keeping what it returned
   * in lateValue), so the run's slot and key stay held while the handler runs: a retry or a
   * newer generation of its key never overlaps a handler that ignores ctx.signal.
   */
  settleWith<T>(work: Promise<T>): Promise<T> {
    if (this.aborted) {
      work.catch(() => undefined); // the handler's own rejection, later, is not an unhandled one
      return Promise.reject(this.reason);
    }
    return work.then(
      (value) => {
        if (!this.aborted) return value;
        this.lateValue = { value };
        throw this.reason;
      },
      (error: unknown) => {
        throw this.aborted ? this.reason : error;
      },
    );
  }
}
