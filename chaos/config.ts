/**
 * Knobs of the chaos run, all from the environment:
 *   CHAOS_SCALE  size of every scenario (tasks, kills, restarts, cuts, chaos window); default 1
 *                (about 6-8 minutes on 2 cores); CI uses 0.25 (about 2 minutes).
 *   CHAOS_SEED   seed of every random choice (victims, timings, payloads); default: random, printed.
 *   CHAOS_ONLY   comma-separated scenario ids to run (e.g. `kills,keys`); default: all.
 *   CHAOS_ECHO=1 mirrors worker output to stderr (spawnWorker's SQ_TEST_WORKER_ECHO).
 *   MAX_ATTEMPTS reaches the workers (default 3): MAX_ATTEMPTS=1 turns any attempt the chaos costs
 *                a task (an abort on lease loss or supersession) into a visible lost task.
 * Never used: REDIS_URL and the Redis on 6379; every Redis here is a private redis-server.
 */

export interface ChaosConfig {
  readonly scale: number;
  readonly seed: number;
  readonly only: ReadonlySet<string> | undefined;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ChaosConfig {
  const scale = env.CHAOS_SCALE === undefined ? 1 : Number(env.CHAOS_SCALE);
  if (!Number.isFinite(scale) || scale <= 0 || scale > 20) {
    throw new Error(`CHAOS_SCALE must be a number in (0, 20], got ${JSON.stringify(env.CHAOS_SCALE)}`);
  }
  const seed = env.CHAOS_SEED === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(env.CHAOS_SEED);
  if (!Number.isSafeInteger(seed))
    throw new Error(`CHAOS_SEED must be an integer, got ${JSON.stringify(env.CHAOS_SEED)}`);
  const only = env.CHAOS_ONLY
    ? new Set(
        env.CHAOS_ONLY.split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      )
    : undefined;
  if (env.CHAOS_ECHO === '1') process.env.SQ_TEST_WORKER_ECHO = '1';
  return { scale, seed, only };
}

/** `n * scale`, rounded, at least `min`. */
export function scaled(n: number, scale: number, min = 1): number {
  return Math.max(min, Math.round(n * scale));
}

/**
 * Worker timings shared by every scenario: short enough that recovery happens within a second
 * or two, so a scenario can do many kills in little time.
 */
export const WORKER_TIMING = {
  LEASE_MS: '1000',
  HEARTBEAT_MS: '150',
  SWEEP_MS: '200',
  MAX_STALL_MS: '5000',
  CONCURRENCY: '8',
} as const;

/** A small seeded PRNG (mulberry32): a run is reproducible from its printed seed. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** In [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.next() * items.length)];
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  /** An independent generator for one scenario, so adding a scenario does not reshuffle the others. */
  fork(label: string): Rng {
    let h = this.state ^ 0x9e3779b9;
    for (const c of label) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193);
    return new Rng(h >>> 0);
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
