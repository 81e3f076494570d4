/** A one-shot gate: `wait()` resolves once `open()` was called (a blocked handler stays in flight). */
export class Latch {
  private release!: () => void;
  private readonly opened = new Promise<void>((resolve) => (this.release = resolve));

  open(): void {
    this.release();
  }

  wait(): Promise<void> {
    return this.opened;
  }
}

/** Resolves for everyone once `parties` callers have arrived. */
export class Barrier {
  private arrived = 0;
  private readonly latch = new Latch();

  constructor(private readonly parties: number) {}

  arrive(): Promise<void> {
    if (++this.arrived >= this.parties) this.latch.open();
    return this.latch.wait();
  }
}

/** A pause that is part of the scenario (idle time a lease must outlive), never synchronisation. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
