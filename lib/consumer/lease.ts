/**
 * @internal Milliseconds on the process's monotonic clock (CLOCK_MONOTONIC through libuv): the
 * same clock in every thread, and never stepped back or forward with the wall clock, so a lease
 * measured with it cannot be stretched by an NTP correction.
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint() / 1_000_000n);
}

/** @internal What a queue's consumer knows of its worker's lease (ownership plus liveness). */
export interface Lease {
  /** Redis confirmed a beat recently enough that the liveness key cannot have expired yet. */
  isHeld(): boolean;
  /**
   * Since when (monotonicMs) the liveness key has existed without a break, as far as confirmed
   * beats prove it; Infinity while the lease is not held, and from a beat that found the key gone
   * until one is confirmed after it.
   */
  heldSince(): number;
  /**
   * The value this worker's liveness keys hold when they have existed without a break since
   * before `provenAt` (monotonicMs), as far as this process knows; undefined when it cannot say.
   * Redis finding a key still holding it proves that no other worker could have taken over an
   * entry proven this worker's at `provenAt` (a takeover needs the key gone, and a key gone
   * comes back with another value). A claim passes it (of its sending time) to claim.lua, which
   * marks a keyed run running only under that value: one written after a lapse, its reply still
   * on its way, is not yet known here as this worker's, and a run recorded under it would be
   * taken for held by this worker for good.
   */
  livenessSince(provenAt: number): string | undefined;
  /**
   * Since when (monotonicMs) this worker's liveness key `key`, read in Redis as holding `value`,
   * has existed without a break, as far as this process knows; Infinity when it cannot say (the
   * key gone, a value another process wrote or one from before the key's last creation). A key's
   * value changes without a break too (another key's lapse, renewIncarnation: SET XX), so a
   * value read now proves more than comparing it with the one held earlier: no other worker
   * could have taken over an entry proven this worker's after that time (a takeover needs the key
   * gone, and only this worker's heartbeat creates it again). Absent where there is no heartbeat.
   */
  unbrokenSince?(key: string, value: string | null): number;
  /**
   * A keyed run that Redis handed over in reply to a request sent at `provenAt` was not started
   * (the lease could not prove it this worker's) and is left unsettled, claim.lua having recorded
   * the liveness value (field rliv; only livenessSince(provenAt), the value this worker saw
   * confirmed before it sent the claim): while the lease is unconfirmed and that value may still be
   * the keys' one, the keys get a new value (LeaseKeeper.renewIncarnation), so the run, stranded,
   * is judged abandoned, not held by this live worker for good. Absent where there is no heartbeat.
   */
  keyedRunUnstarted?(provenAt: number): void;
  /**
   * Calls `listener` after each beat Redis confirmed once the liveness value is this worker's
   * own again (a claim sent from then on passes it: livenessSince); returns the unsubscribe.
   * Absent where there is no heartbeat.
   */
  onConfirmed?(listener: () => void): () => void;
}

/** @internal A lease for code that runs without a heartbeat (unit tests of single parts). */
export const ALWAYS_HELD: Lease = { isHeld: () => true, heldSince: () => -Infinity, livenessSince: () => undefined };

/**
 * @internal Whether an entry that Redis handed to this worker in reply to a request sent at
 * `provenAt` (monotonicMs) is still this worker's: only another worker's reclaim can take it,
 * and a reclaim needs this worker's liveness key to have expired, which an unbroken lease since
 * `provenAt` rules out. A reply delayed in transit past a lapse fails this check even when the
 * lease is held again by the time it arrives.
 */
export function stillOwned(lease: Lease, provenAt: number): boolean {
  // Strict: a request sent in the very millisecond the unbroken stretch began may have been
  // served before the liveness key was written again.
  return lease.isHeld() && lease.heldSince() < provenAt;
}
