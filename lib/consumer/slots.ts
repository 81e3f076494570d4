/** @internal A slot accounted twice (released, finished or settled again): a bug, never a state. */
export class SlotAccountingError extends Error {
  constructor(what: string) {
    super(`Slot accounting broken: ${what}`);
    this.name = 'SlotAccountingError';
  }
}

/**
 * @internal One delivery's handler slot, owned by the delivery from admission until Redis settled
 * it (or until it is dropped before running). Each step happens once: a second release, or a
 * settle of a run that never finished, throws instead of freeing another delivery's slot.
 */
export class Slot {
  private state: 'held' | 'settling' | 'free' = 'held';

  constructor(private readonly slots?: Slots) {}

  /** A slot that belongs to no Slots (a delivery built outside a consumer, as in tests). */
  static detached(): Slot {
    return new Slot();
  }

  /** Dropped before running (stale, deferred, dead-lettered, not handed over). */
  release(): void {
    this.step('held', 'free', 'released');
    this.slots?.release();
  }

  /** Its handler finished; the run now waits for its settle. */
  finish(): void {
    this.step('held', 'settling', 'finished');
    this.slots?.finish();
  }

  /** Redis settled the run. */
  settled(): void {
    this.step('settling', 'free', 'settled');
    this.slots?.settled();
  }

  private step(from: Slot['state'], to: Slot['state'], what: string): void {
    if (this.state !== from) throw new SlotAccountingError(`a slot ${this.state} was ${what} again`);
    this.state = to;
  }
}

/**
 * @internal Handler slots of one queue. A read asks Redis for at most the free slots and holds
 * them while it blocks, so the process never reads more than it can run. A sweep may claim
 * beside a blocked read (counting only deliveries held, not the read's hold): otherwise an idle
 * worker, always blocked in a read, could never reclaim. So holdings may briefly exceed the
 * capacity by one read's worth; the pipeline's mergeMap still runs at most `capacity` at once.
 *
 * A slot frees when its handler finishes, so the next read overlaps the settle of the last
 * batch; finished runs waiting for their settle are bounded too (twice `capacity`), so a
 * slow Redis slows reading instead of piling up unsettled work.
 */
export class Slots {
  private held = 0;
  private settling = 0;
  private readHold = 0;
  private wakers: Array<() => void> = [];
  private closed = false;
  private waking = false;

  constructor(readonly capacity: number) {}

  get free(): number {
    const running = this.capacity - this.held;
    const outstanding = 3 * this.capacity - this.held - this.settling;
    return Math.max(0, Math.min(running, outstanding) - this.readHold);
  }

  /**
   * Holds the free slots (at most `max`) for one read; endRead() says how many the read filled.
   * Holds add up: reads of a queue's slot groups, in flight at once, never hold a slot twice.
   */
  beginRead(max = Infinity): number {
    const n = Math.min(this.free, max);
    this.readHold += n;
    return n;
  }

  /** Ends a read that held `hold` slots (by default: the only read, holding them all). */
  endRead(filled: number, hold = this.readHold): void {
    if (hold > this.readHold) throw new SlotAccountingError(`a read ended holding ${hold} of ${this.readHold} slot(s)`);
    this.readHold -= hold;
    this.held += filled;
    if (this.free > 0) this.wake();
  }

  /** Takes up to `max` slots beside any read in progress; returns how many were taken. */
  reserve(max: number): number {
    const n = Math.max(0, Math.min(max, this.capacity - this.held));
    this.held += n;
    return n;
  }

  /**
   * The slot of one admitted delivery, out of those held for its entry: from here on the
   * delivery's Slot frees it, exactly once.
   */
  adopt(): Slot {
    if (this.held < 1) throw new SlotAccountingError('a delivery was admitted without a held slot');
    return new Slot(this);
  }

  /**
   * Entries held for a handover that will not run (already in flight, not handed over, past the
   * delivery limit). Releasing more than is held throws: it would free another delivery's slot.
   */
  release(n = 1): void {
    if (n > this.held) throw new SlotAccountingError(`released ${n} slot(s) while ${this.held} held`);
    this.held -= n;
    if (this.free > 0) this.wake();
  }

  /** A handler finished; its run now waits for its settle (through its Slot). */
  finish(): void {
    if (this.held < 1) throw new SlotAccountingError('a run finished without a held slot');
    this.held -= 1;
    this.settling += 1;
    if (this.free > 0) this.wake();
  }

  /** A finished run was settled in Redis (through its Slot). */
  settled(): void {
    if (this.settling < 1) throw new SlotAccountingError('a run was settled that was not finished');
    this.settling -= 1;
    if (this.free > 0) this.wake();
  }

  /**
   * Resolves once a slot is free, or at once after close(). Never ahead of reads already
   * waiting: freed slots go to waiters in the order they came, so the busy slot groups of a
   * queue take turns (a waiter exists only while a wake is due, so the line always moves).
   */
  whenFree(): Promise<void> {
    if (this.closed || (this.free > 0 && this.wakers.length === 0)) return Promise.resolve();
    return new Promise((resolve) => this.wakers.push(resolve));
  }

  close(): void {
    this.closed = true;
    this.wake();
  }

  /**
   * Wakes a waiting read at the end of this turn of the event loop, not at once: runs finish in
   * bursts (a batch's handlers resolve in one microtask checkpoint), and waking on the first
   * freed slot would send a read for one message, then another, instead of one for the burst.
   */
  private wake(): void {
    if (this.wakers.length === 0 || this.waking) return;
    this.waking = true;
    setImmediate(() => {
      this.waking = false;
      const wakers = this.wakers;
      this.wakers = [];
      wakers.forEach((w) => w());
    });
  }
}
