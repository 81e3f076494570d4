import type { Delivery } from './delivery';

/**
 * @internal One queue's pause as this worker knows it (PauseWatch sets it), and the waits it
 * imposes on the queue's consumer: no read while paused, and no run started. A delivery admitted
 * before the pause was seen (its read was under way) is held before its handler: it stays
 * pending under this worker, leased by its heartbeat, and starts after the resume. An abort
 * (cancel, replace, lease lost) or the consumer's stop lets it through to its aborted outcome,
 * which never calls the handler.
 */
export class PauseGate {
  private paused = false;
  private stopReason?: Error;
  private opened?: { promise: Promise<void>; resolve: () => void };
  private readonly listeners: ((paused: boolean) => void)[] = [];
  private readonly held = new Set<Delivery>();

  get isPaused(): boolean {
    return this.paused;
  }

  /** Deliveries held before their handler now. */
  get heldCount(): number {
    return this.held.size;
  }

  /** Called, synchronously, on each change (before any waiter resumes). */
  onChange(listener: (paused: boolean) => void): void {
    this.listeners.push(listener);
  }

  set(paused: boolean): void {
    if (paused === this.paused) return;
    this.paused = paused;
    for (const listener of this.listeners) listener(paused);
    if (!paused) this.open();
  }

  /** Resolves once the queue is not paused, or the consumer stops. */
  whenOpen(): Promise<void> {
    if (!this.paused || this.stopReason) return Promise.resolve();
    if (!this.opened) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.opened = { promise, resolve };
    }
    return this.opened.promise;
  }

  /**
   * Resolves once `delivery` may go to its runner: the queue is not paused, or it was aborted.
   * The gate is read again each time its wait ends: a resume and a pause heard in one turn (their
   * notices in one read of the control connection) open it and shut it again before the wait
   * resumes, and the delivery, let through, started while the queue was paused.
   */
  async beforeRun(delivery: Delivery): Promise<void> {
    if (!this.paused || delivery.isAborted) return;
    this.held.add(delivery);
    // One abort listener for all the waits (a listener per wait would pile up as the gate flips).
    let wake = () => {};
    const onAbort = () => wake();
    delivery.signal.addEventListener('abort', onAbort, { once: true });
    try {
      while (this.paused && !delivery.isAborted) {
        if (this.stopReason) return delivery.abort(this.stopReason);
        await new Promise<void>((resolve) => {
          wake = resolve;
          void this.whenOpen().then(resolve);
        });
      }
    } finally {
      delivery.signal.removeEventListener('abort', onAbort);
      this.held.delete(delivery);
    }
  }

  /**
   * The consumer stops: held deliveries are aborted with `reason` (their runner leaves them
   * pending, for whichever worker runs the queue after the resume), and waits end.
   */
  stop(reason: Error): void {
    this.stopReason = reason;
    for (const delivery of this.held) delivery.abort(reason);
    this.open();
  }

  private open(): void {
    const opened = this.opened;
    this.opened = undefined;
    opened?.resolve();
  }
}
