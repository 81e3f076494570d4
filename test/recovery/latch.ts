/** A one-shot gate: `wait()` resolves once `open()` was called. */
export class Latch {
  private release!: () => void;
  readonly opened = new Promise<void>((resolve) => (this.release = resolve));

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

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
