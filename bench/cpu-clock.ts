/**
 * Starts a clock of this process's CPU time (user + system, `process.cpuUsage`); the returned
 * function reads what it spent since, in µs per task of `tasks`. It starts after a full garbage
 * collection (children run with --expose-gc), so a measured window pays for no garbage left by
 * what came before it (the prefill): a side whose prefill makes more garbage (a traced one) is
 * not charged for it in its drain.
 */
export function cpuClock(tasks: number): () => number {
  (globalThis as { gc?: () => void }).gc?.();
  const start = process.cpuUsage();
  return () => {
    const { user, system } = process.cpuUsage(start);
    return (user + system) / tasks;
  };
}
