/**
 * Starts a clock of this process's CPU time (user + system, `process.cpuUsage`); the returned
 * function reads what it spent since, in µs per task of `tasks`.
 */
export function cpuClock(tasks: number): () => number {
  const start = process.cpuUsage();
  return () => {
    const { user, system } = process.cpuUsage(start);
    return (user + system) / tasks;
  };
}
