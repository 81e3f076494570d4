/**
 * @internal How long an entry of this consumer must have been idle before its sweep recovers it.
 * Entries this process holds in memory are skipped; a read's reply is admitted in the same turn
 * of the event loop it arrives in, so only a reply lost with its connection (or a run given back
 * unstarted) is left idle this long (the margin covers a reply still in flight).
 */
export function recoveryIdleMs(blockMs: number): number {
  return Math.max(1_000, blockMs * 2);
}
