import type { LayoutStepReply } from '../lib/scripts/layout.script';

/** One layout.lua call of the operator's count change: which step, on which partition. */
export interface LayoutCall {
  readonly step: 'freeze' | 'commit' | 'thaw';
  readonly partition: number;
}

/**
 * The operator process changing a partitioned queue's count `from` -> `to`, one layout.lua call
 * per explorer step, in PartitionLayouts.switchCount's order: freeze every partition of both
 * layouts in order (one frozen or committed already passes); if one still holds tasks, thaw the
 * ones this attempt froze or found frozen, in reverse (the attempt fails, and the next step retries it from the
 * start, as a redeploy would); once all are frozen, drop the key states whose waiting run's
 * message is gone and read the sequences for the commits' floor (both in the first commit's
 * step, steps.ts), and commit them in reverse, so partition 0 holds the new count last. A clean
 * that finds a key state still holding a running run (its stream purged under it) thaws, as a
 * failed freeze does. A commit refused (another switch took the record) ends it for good.
 */
export class CountChange {
  private phase: 'freeze' | 'thaw' | 'commit' | 'done' = 'freeze';
  /** The partition the next call is for. */
  private at = 0;
  attempts = 0;
  /** The partitions this attempt froze or found frozen (it thaws them: layout.lua counts who relies on one). */
  private frozenHere: number[] = [];
  /** The commits' sequence floor, read once all partitions are frozen. */
  sequenceFloor?: number;

  constructor(
    readonly from: number,
    readonly to: number,
  ) {}

  get partitions(): number {
    return Math.max(this.from, this.to);
  }

  get done(): boolean {
    return this.phase === 'done';
  }

  next(): LayoutCall | undefined {
    if (this.phase === 'done') return undefined;
    if (this.phase === 'thaw') return { step: 'thaw', partition: this.frozenHere[this.frozenHere.length - 1] };
    return { step: this.phase, partition: this.at };
  }

  /** Moves on after the call `next()` named returned `outcome`. */
  record(outcome: LayoutStepReply['outcome'], record = ''): void {
    if (this.phase === 'freeze' && this.at === 0) this.attempts++;
    if (this.phase === 'freeze') {
      if (outcome === 'done' || (outcome === 'already' && record !== String(this.to))) this.frozenHere.push(this.at);
      if (outcome !== 'done' && outcome !== 'already') return this.go(this.frozenHere.length ? 'thaw' : 'freeze', 0);
      return this.at + 1 < this.partitions ? this.go('freeze', this.at + 1) : this.go('commit', this.partitions - 1);
    }
    if (this.phase === 'thaw') {
      this.frozenHere.pop();
      return this.go(this.frozenHere.length ? 'thaw' : 'freeze', 0);
    }
    if (outcome !== 'done') return this.go('done', 0);
    return this.at > 0 ? this.go('commit', this.at - 1) : this.go('done', 0);
  }

  /**
   * The clean found a key state still holding a running run (RunningKeyState, before the first
   * commit): as switchCount does, this attempt thaws what it froze, and the next retries it.
   */
  refuseRunning(): void {
    this.go(this.frozenHere.length ? 'thaw' : 'freeze', 0);
  }

  private go(phase: CountChange['phase'], at: number): void {
    this.phase = phase;
    this.at = Math.max(at, 0);
  }
}
