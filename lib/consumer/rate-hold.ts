import type { Delivery } from './delivery';
import { monotonicMs } from './lease';

/** A failed claim (Redis unreachable) is tried again this much later. */
const RETRY_MS = 200;

/**
 * Held deliveries that wait for the same windows (one task and group, in one partition: on a
 * partitioned queue each partition counts its share of a task's rateLimit in windows of its own,
 * and a task's ungrouped runs spread over them): they claim one at a time, and once a claim is
 * told to wait, the others wait as long without asking. Each start frees one token, so many held
 * runs woken together would otherwise send a claim each for it: N claims per token, O(N²) to
 * drain N.
 */
interface Line {
  /** The claims of the line, chained: the next starts when the last has answered. */
  tail: Promise<void>;
  /** When (monotonicMs) the last claim told to wait may find a token. */
  readyAt: number;
  members: number;
}

/**
 * @internal Holds rate-limited deliveries that must wait for a token before their handler (a
 * restart into a full window, or an entry admitted without a token: claim.lua said how long).
 * Each waits on a timer, never a poll: it stays pending under this worker, leased by its
 * heartbeat, with its handler slot taken, and is claimed again when its wait ends, in turn with
 * the others held for the same task and group (see Line). An abort (lease lost) or the
 * consumer's stop ends the wait: the run is abandoned unstarted, left pending for whoever takes
 * it next.
 */
export class RateHold {
  private stopReason?: Error;
  private readonly waking = new Set<() => void>();
  private readonly lines = new Map<string, Line>();

  /**
   * Resolves once `delivery` may go to its runner: it got its token, or it was aborted; or,
   * `paused()` when a wait ends, unclaimed, with a wait of 0: a token taken now would be spent
   * on a start that waits for the resume (the caller claims it again after it). `partition`: the
   * partition of the delivery's entry, whose windows it waits for.
   */
  async hold(
    delivery: Delivery,
    claimAgain: (d: Delivery) => Promise<void>,
    paused: () => boolean = () => false,
    partition = 0,
  ): Promise<void> {
    const key = this.lineKey(delivery, partition);
    const line = this.join(key);
    try {
      while (delivery.rateWaitMs !== undefined && !delivery.isAborted) {
        if (this.stopReason) return delivery.abort(this.stopReason);
        await this.sleep(delivery, delivery.rateWaitMs);
        if (delivery.isAborted || this.stopReason) continue;
        if (paused()) {
          delivery.rateWaitMs = 0;
          return;
        }
        await this.inTurn(line, () => this.claimUnlessWaiting(line, delivery, claimAgain));
      }
    } finally {
      if (--line.members === 0) this.lines.delete(key);
    }
  }

  /** The consumer stops: waits end, and their runs are abandoned with `reason`. */
  stop(reason: Error): void {
    this.stopReason = reason;
    // Each wake removes itself: iterate over a copy.
    for (const wake of Array.from(this.waking)) wake();
  }

  /** Claims `delivery` again, unless the line was told to wait past now: it then waits as long. */
  private async claimUnlessWaiting(
    line: Line,
    delivery: Delivery,
    claimAgain: (d: Delivery) => Promise<void>,
  ): Promise<void> {
    if (delivery.isAborted || this.stopReason) return;
    // A run whose start was counted (claimed again after a pause or a stale start) may only move
    // its record: the line's wait, learnt from runs that need a token, is not its own.
    const waitMs = delivery.startedAt === undefined ? line.readyAt - monotonicMs() : 0;
    if (waitMs > 0) {
      delivery.rateWaitMs = waitMs;
      return;
    }
    try {
      await claimAgain(delivery);
    } catch {
      delivery.rateWaitMs = RETRY_MS;
      return;
    }
    // Only a "wait" answer says when a token frees: a run taken over by another worker (aborted)
    // keeps its old wait, which says nothing of the window now.
    if (!delivery.isAborted && delivery.rateWaitMs !== undefined) line.readyAt = monotonicMs() + delivery.rateWaitMs;
  }

  private join(key: string): Line {
    let line = this.lines.get(key);
    if (!line) this.lines.set(key, (line = { tail: Promise.resolve(), readyAt: 0, members: 0 }));
    line.members++;
    return line;
  }

  /** Runs `claim` once every claim of the line sent before it has answered. */
  private inTurn(line: Line, claim: () => Promise<void>): Promise<void> {
    const turn = line.tail.then(claim);
    // claim never rejects (claimUnlessWaiting catches): the chain never breaks.
    line.tail = turn;
    return turn;
  }

  private lineKey({ message }: Delivery, partition: number): string {
    return `${partition}\0${message.name}\0${message.flow?.group ?? ''}`;
  }

  private sleep(delivery: Delivery, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.waking.delete(wake);
        delivery.signal.removeEventListener('abort', wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.waking.add(wake);
      delivery.signal.addEventListener('abort', wake, { once: true });
    });
  }
}
