/**
 * Benchmark configuration: every knob comes from the environment, resolved once here.
 *
 *   REDIS_URL     Redis to benchmark against (default redis://127.0.0.1:6379)
 *   BENCH_ROUNDS  rounds per side and scenario; sides alternate inside a round (default 3)
 *   BENCH_SCALE   multiplies every task count and the latency duration (default 1; 0.1 = quick run)
 *   BENCH_CHUNK   tasks per enqueueMany / addBulk / XADD pipeline call (default 1000)
 *   BENCH_SIDES   comma list to run a subset: bullmq,raw,sq,sq-observed,sq-observed-sampled,sq-limit,
 *                 sq-groups (default: all; sq-observed and sq-observed-sampled are nest-stream-queue with
 *                 metrics and tracing on, at 100 % and 10 % sampling (observed-sides.ts), sq-limit and
 *                 sq-groups the same drain under flow control (flow-sides.ts), all four in the drain only)
 *   BENCH_SAMPLED_RATIO  head sampling ratio of sq-observed-sampled, 0 to 1 (default 0.1)
 *   BENCH_OBSERVED_PARTS  comma list of metrics,tracing,sdk: what the observed sides turn on (default all;
 *                 "tracing" alone is the tracing module with no tracer provider registered)
 *   BENCH_SCENARIOS  comma list to run a subset of the scenarios (default: all, cluster-drain included;
 *                 cluster-drain starts a local Redis Cluster and a Redis of its own)
 *   BENCH_OUT     markdown report path (default docs/benchmarks.md; "-" = stdout only)
 *   BENCH_SQ_OPTIONS  JSON merged into StreamQueueModule.forRoot (tuning experiments, e.g. '{"ackBatchMs":0}');
 *                 the report states it.
 *   BENCH_RESULT_TTL_MS  resultTtlMs for the drain/memory run (default: none, the library's default)
 *   BENCH_DRAIN_HANDLER_MS  the drain's handlers await a timer of this many ms, standing for a task
 *                 that waits on I/O (default: none, no-op handlers); the report states it
 *   BENCH_CPU_PROF  directory: each drain child writes a CPU profile of its measured window there
 *
 * To compare sides, e.g. the cost of metrics and tracing at 100 % and 10 % sampling:
 *   BENCH_SIDES=sq,sq-observed,sq-observed-sampled BENCH_SCENARIOS=drain BENCH_ROUNDS=8 BENCH_OUT=- npm run bench
 * or the drain under flow control against the plain drain:
 *   BENCH_SIDES=sq,sq-limit,sq-groups BENCH_SCENARIOS=drain BENCH_ROUNDS=3 BENCH_OUT=- npm run bench
 */
import { randomBytes } from 'node:crypto';
import { CLUSTER_SCENARIO } from './cluster-scenarios';
import { SCENARIOS, SIDES, type ScenarioName, type SideName } from './scenario';

export interface BenchConfig {
  redisUrl: string;
  rounds: number;
  scale: number;
  chunk: number;
  sides: SideName[];
  scenarios: ScenarioName[];
  /** Whether the cluster scenarios run (cluster-scenarios.ts). */
  clusterDrain: boolean;
  outFile: string | null;
  /** Extra StreamQueueModule options from BENCH_SQ_OPTIONS (default none). */
  sqOptions: Record<string, unknown>;
  /** Unique per invocation; every Redis key the bench creates contains it. */
  runId: string;
  bulkTasks: number;
  singleTasks: number;
  singleParallel: number;
  drainTasks: number;
  concurrency: number;
  latencyRate: number;
  latencySeconds: number;
  /**
   * resultTtlMs given to nest-stream-queue in the drain/memory run, or undefined for the library's
   * default: what a user who sets nothing leaves in Redis per task is the figure that matters.
   */
  resultTtlMs: number | undefined;
  /** A child measurement taking longer than this is killed and reported as failed. */
  childTimeoutMs: number;
  /** Drain handlers await a timer this long (BENCH_DRAIN_HANDLER_MS), or 0: no-op handlers. */
  drainHandlerMs: number;
  /** BENCH_CPU_PROF: where drain children write a CPU profile of their measured window. */
  cpuProfileDir: string | undefined;
}

function num(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got "${raw}"`);
  return value;
}

/** The subset of `all` a comma list in the environment variable `name` picks (default: all). */
function subset<T extends string>(name: string, all: readonly T[]): T[] {
  const raw = process.env[name];
  if (!raw) return [...all];
  const picked = raw.split(',').map((s) => s.trim());
  for (const item of picked) {
    if (!(all as readonly string[]).includes(item)) {
      throw new Error(`${name}: unknown value "${item}" (use ${all.join(',')})`);
    }
  }
  return all.filter((item) => picked.includes(item));
}

function sqOptions(): Record<string, unknown> {
  const raw = process.env.BENCH_SQ_OPTIONS;
  if (!raw) return {};
  const parsed: unknown = JSON.parse(raw);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(`BENCH_SQ_OPTIONS must be a JSON object, got ${raw}`);
  }
  return parsed as Record<string, unknown>;
}

export function loadConfig(): BenchConfig {
  const scale = num('BENCH_SCALE', 1);
  const scaled = (n: number) => Math.max(100, Math.round(n * scale));
  const out = process.env.BENCH_OUT;
  const picked = subset('BENCH_SCENARIOS', [...SCENARIOS, CLUSTER_SCENARIO]);
  return {
    redisUrl: process.env.REDIS_URL || 'redis://127.0.0.1:6379',
    rounds: Math.round(num('BENCH_ROUNDS', 3)),
    scale,
    chunk: Math.round(num('BENCH_CHUNK', 1000)),
    sides: subset('BENCH_SIDES', SIDES),
    scenarios: picked.filter((s): s is ScenarioName => s !== CLUSTER_SCENARIO),
    clusterDrain: picked.includes(CLUSTER_SCENARIO),
    outFile: out === '-' ? null : out || 'docs/benchmarks.md',
    sqOptions: sqOptions(),
    runId: `bench-${randomBytes(4).toString('hex')}`,
    bulkTasks: scaled(50_000),
    singleTasks: scaled(20_000),
    singleParallel: 50,
    drainTasks: scaled(50_000),
    concurrency: 50,
    latencyRate: 1000,
    latencySeconds: Math.max(1, 10 * scale),
    resultTtlMs: process.env.BENCH_RESULT_TTL_MS ? Number(process.env.BENCH_RESULT_TTL_MS) : undefined,
    childTimeoutMs: 180_000,
    drainHandlerMs: process.env.BENCH_DRAIN_HANDLER_MS ? num('BENCH_DRAIN_HANDLER_MS', 0) : 0,
    cpuProfileDir: process.env.BENCH_CPU_PROF || undefined,
  };
}
