/**
 * @internal Handler slots of one queue. A read asks Redis for at most `free` messages and
 * reserves them before the call, so the process never holds more messages than it can run;
 * a slot is released only after its run is settled in Redis.
 */
export class Slots {
  private available: number;
  private wakers: Array<() => void> = [];
  private closed = false;

  constructor(readonly capacity: number) {
    this.available = capacity;
  }

  get free(): number {
    return this.available;
  }

  /** Reserves up to `max` slots; returns how many were reserved. */
  reserve(max = this.available): number {
    const n = Math.max(0, Math.min(max, this.available));
    this.available -= n;
    return n;
  }

  release(n = 1): void {
    this.available = Math.min(this.capacity, this.available + n);
    if (this.available > 0) this.wake();
  }

  /** Resolves once a slot is free, or at once after close(). */
  whenFree(): Promise<void> {
    if (this.available > 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.wakers.push(resolve));
  }

  close(): void {
    this.closed = true;
    this.wake();
  }

  private wake(): void {
    const wakers = this.wakers;
    this.wakers = [];
    wakers.forEach((w) => w());
  }
}
