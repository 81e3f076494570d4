/**
 * Shared vocabulary of the benchmark: sides, scenarios, what a side implements and what a
 * measurement reports. The orchestrator (main.ts), the child runner (child.ts), the sides and the
 * report all speak these types and nothing else.
 */
import type { RedisProbe } from './redis-stats';
import { SAMPLED_RATIO } from './observed-sides';

export const SIDES = [
  'bullmq',
  'sq',
  'sq-observed',
  'sq-observed-sampled',
  'sq-limit',
  'sq-groups',
  'sq-rate',
  'raw',
] as const;
export type SideName = (typeof SIDES)[number];

export const SIDE_LABEL: Record<SideName, string> = {
  bullmq: 'BullMQ 6.7.0',
  sq: 'nest-stream-queue',
  'sq-observed': 'nest-stream-queue + metrics + tracing',
  'sq-observed-sampled': `nest-stream-queue + metrics + tracing, ${Math.round(SAMPLED_RATIO * 1000) / 10} % sampled`,
  'sq-limit': 'nest-stream-queue, global limit never binding',
  'sq-groups': 'nest-stream-queue, 100 groups × 2',
  'sq-rate': 'nest-stream-queue, rateLimit 1,000 per s',
  raw: 'raw Redis (ceiling)',
};

/** Memory is not a scenario of its own: it is read around every drain run. */
export const SCENARIOS = ['enqueue-bulk', 'enqueue-single', 'drain', 'latency', 'close'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/** The task body every side enqueues: `t` is `performance.now()` at enqueue time (same process). */
export interface BenchPayload {
  i: number;
  t: number;
}

export const TASK_NAME = 'bench.noop';

/** Close scenario: runs in flight when the busy worker is closed, and how long each one takes. */
export const CLOSE_IN_FLIGHT = 50;
export const CLOSE_HANDLER_MS = 50;
/** Tasks the idle worker consumes before it is closed (it has been working, none left in flight). */
export const CLOSE_WARMUP = 20;

/** What the orchestrator hands a child process (serialised as JSON in BENCH_JOB). */
export interface ChildJob {
  side: SideName;
  scenario: ScenarioName;
  round: number;
  redisUrl: string;
  /** Every key this run creates contains this string; the orchestrator deletes them afterwards. */
  prefix: string;
  tasks: number;
  chunk: number;
  parallel: number;
  concurrency: number;
  rate: number;
  seconds: number;
  resultTtlMs: number | undefined;
  /** Every side waits this long after closing before memory is read (past resultTtlMs, if set). */
  memoryWaitMs: number;
  /** Extra StreamQueueModule options (BENCH_SQ_OPTIONS). */
  sqOptions: Record<string, unknown>;
  /** Drain handlers await a timer this long, or 0 (no-op handlers). */
  drainHandlerMs: number;
  /** Drain only: write a CPU profile of the measured window into this directory. */
  cpuProfileDir: string | undefined;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

export interface Measurement {
  side: SideName;
  scenario: ScenarioName;
  round: number;
  /** Tasks inside the measured window. */
  tasks: number;
  /** Length of the measured window in ms. */
  elapsedMs: number;
  /** INFO commandstats delta over the window, by command name, harness commands removed. */
  commands: Record<string, number>;
  latency?: LatencySummary;
  /** Drain only: CPU time (user + system) of the child over the window, in µs per task. */
  cpuMicrosPerTask?: number;
  /** Drain only: CPU time of Redis's main thread over the window, in µs per task (server-wide). */
  redisCpuMicrosPerTask?: number;
  /** Observed drains with tracing on: tasks whose enqueue span was sampled (their runs record spans). */
  tracedTasks?: number;
  /** Drain only: ms from worker start to the first handler call (start-up cost inside elapsedMs). */
  firstTaskMs?: number;
  /** Close only: ms for the worker's close while idle (after consuming, nothing in flight). */
  closeIdleMs?: number;
  /** Close only: ms for the worker's close with CLOSE_IN_FLIGHT runs in flight (it drains them). */
  closeBusyMs?: number;
  /** used_memory after the drain (all connections closed, TTLs passed) minus before the prefill. */
  memoryBytes?: number;
  /** Keys still present under the run's prefix when memory was read. */
  keysLeft?: number;
  /** Sum of MEMORY USAGE over those keys. */
  keyBytes?: number;
  /** sq-rate only: the starts against the rate limit (see flow-sides.ts, achievedRate). */
  rate?: RateFigures;
  notes: string[];
}

/** A rate-limited drain's starts (ctx.startedAt, Redis's clock) against its limit. */
export interface RateFigures {
  readonly max: number;
  readonly perMs: number;
  /** Starts per perMs achieved: max over the mean time from a start to the start max places later. */
  readonly achievedPerWindow: number;
  /** The most starts in any interval of perMs (must not exceed max). */
  readonly mostInWindow: number;
  readonly starts: number;
  readonly spanMs: number;
}

/** The one message a child sends its parent. */
export type ChildMessage = { ok: true; measurement: Measurement } | { ok: false; error: string };

/** Everything a side needs to run one scenario. */
export interface RunEnv {
  job: ChildJob;
  probe: RedisProbe;
}

/** Result of a scenario before the child stamps side/scenario/round on it. */
export type ScenarioResult = Omit<Measurement, 'side' | 'scenario' | 'round'>;

export type ScenarioFn = (env: RunEnv) => Promise<ScenarioResult>;

/** A side implements the scenarios it can take part in. */
export type Side = Partial<Record<ScenarioName, ScenarioFn>>;

/** Which sides take part in which scenario (raw has no worker framework: no latency, no single). */
export const PARTICIPANTS: Record<ScenarioName, readonly SideName[]> = {
  'enqueue-bulk': ['bullmq', 'sq', 'raw'],
  'enqueue-single': ['bullmq', 'sq'],
  // sq-observed, sq-observed-sampled: the same drain with metrics and tracing on (observed-sides.ts).
  // sq-limit, sq-groups: the same drain under flow control (flow-sides.ts).
  // sq-rate: a drain of RATE_WINDOWS windows' worth under a rateLimit (flow-sides.ts).
  drain: ['bullmq', 'sq', 'sq-observed', 'sq-observed-sampled', 'sq-limit', 'sq-groups', 'sq-rate', 'raw'],
  latency: ['bullmq', 'sq'],
  close: ['bullmq', 'sq'],
};
