import type { Delivery } from './delivery';

/** A failed claim (Redis unreachable) is tried again this much later. */
const RETRY_MS = 200;

/**
 * @internal Holds rate-limited deliveries that must wait for a token before their handler (a
 * restart into a full window: claim.lua said how long). Each waits on a timer of its own, never
 * a poll: it stays pending under this worker, leased by its heartbeat, with its handler slot
 * taken, and is claimed again when its wait ends. An abort (lease lost) or the consumer's stop
 * ends the wait: the run is abandoned unstarted, left pending for whoever takes it next.
 */
export class RateHold {
  private stopReason?: Error;
  private readonly waking = new Set<() => void>();

  /**
   * Resolves once `delivery` may go to its runner: it got its token, or it was aborted; or,
   * `paused()` when a wait ends, unclaimed, with a wait of 0: a token taken now would be spent
   * on a start that waits for the resume (the caller claims it again after it).
   */
  async hold(
    delivery: Delivery,
    claimAgain: (d: Delivery) => Promise<void>,
    paused: () => boolean = () => false,
  ): Promise<void> {
    while (delivery.rateWaitMs !== undefined && !delivery.isAborted) {
      if (this.stopReason) return delivery.abort(this.stopReason);
      await this.sleep(delivery, delivery.rateWaitMs);
      if (delivery.isAborted || this.stopReason) continue;
      if (paused()) {
        delivery.rateWaitMs = 0;
        return;
      }
      try {
        await claimAgain(delivery);
      } catch {
        delivery.rateWaitMs = RETRY_MS;
      }
    }
  }

  /** The consumer stops: waits end, and their runs are abandoned with `reason`. */
  stop(reason: Error): void {
    this.stopReason = reason;
    // Each wake removes itself: iterate over a copy.
    for (const wake of Array.from(this.waking)) wake();
  }

  private sleep(delivery: Delivery, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.waking.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.waking.add(wake);
      delivery.signal.addEventListener('abort', wake, { once: true });
    });
  }
}
