/**
 * Wait for replicas to acknowledge an enqueue (Redis `WAIT`) before it resolves. Without it an
 * enqueue resolves once the master wrote it; a failover before the write reached a replica loses
 * it (Redis replication is asynchronous). With it, the enqueue resolves only once `replicas`
 * replicas have it, or throws `ReplicationTimeoutError` after `timeoutMs`, or when the WAIT failed
 * (its connection dropped while it waited): the task is still queued on the master, not yet safe
 * from its loss.
 * @publicApi
 */
export interface DurabilityOptions {
  /** Replicas that must acknowledge the write: at least 1. */
  replicas: number;
  /** Longest wait for them, in milliseconds: at least 1 (WAIT's 0, "forever", is refused). */
  timeoutMs: number;
}
