/**
 * @internal Redis's clock as a worker estimates it: the Redis time read when it started consuming,
 * plus its own monotonic clock since (never its wall clock, which may be set anywhere). It only
 * proposes: a cron successor's fire times after it are offered beside those after the run's slot,
 * and Redis's own clock picks (see successor-timing.ts).
 */
export class RedisClock {
  private readonly startedPerf = performance.now();

  constructor(readonly startedAt: number) {}

  now(): number {
    return this.startedAt + (performance.now() - this.startedPerf);
  }
}
