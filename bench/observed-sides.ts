/**
 * The drain with metrics and tracing on (observed.ts sets them up), against the plain `sq` drain:
 *   sq-observed          every trace sampled (the SDK's default sampler);
 *   sq-observed-sampled  10 % head sampling, parent-based, as a deployment at tens of thousands of
 *                        tasks per second runs it.
 * Kept apart from observed.ts so the plain sides never load OpenTelemetry or prom-client.
 */
import type { SideName } from './scenario';

/** The observed sides, in the order the report lists them. */
export const OBSERVED_SIDES = ['sq-observed', 'sq-observed-sampled'] as const satisfies readonly SideName[];
export type ObservedSide = (typeof OBSERVED_SIDES)[number];

export const isObserved = (side: SideName): side is ObservedSide =>
  (OBSERVED_SIDES as readonly string[]).includes(side);

/**
 * Head sampling ratio of sq-observed-sampled (ParentBasedSampler over TraceIdRatioBasedSampler):
 * BENCH_SAMPLED_RATIO, from 0 to 1, default 0.1.
 */
export const SAMPLED_RATIO = sampledRatio(process.env.BENCH_SAMPLED_RATIO);

function sampledRatio(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 0.1;
  const ratio = Number(raw);
  if (!(ratio >= 0 && ratio <= 1)) throw new Error(`BENCH_SAMPLED_RATIO: expected a number from 0 to 1, got ${raw}`);
  return ratio;
}

/**
 * Tasks per enqueueMany call in the observed sides' prefill. Each call is one PRODUCER span, so one
 * trace context and one sampling decision: in chunks of 1,000, a drain of 50,000 would hold 50
 * decisions and its sampled share would swing from round to round; in chunks of 10, 5,000.
 */
export const TRACED_CHUNK = 10;

/** What the observed sides turn on; all of it unless BENCH_OBSERVED_PARTS says otherwise. */
export interface ObservedParts {
  /** StreamQueueMetricsModule. */
  metrics: boolean;
  /** StreamQueueTracingModule. */
  tracing: boolean;
  /** The OpenTelemetry SDK registered (without it, tracing does its one check per run and no more). */
  sdk: boolean;
}

const PART_NAMES = ['metrics', 'tracing', 'sdk'] as const;

/**
 * BENCH_OBSERVED_PARTS, a comma list of metrics,tracing,sdk (default all three), breaks the cost
 * down: e.g. "tracing" is the tracing module with no provider registered, "tracing,sdk" tracing
 * alone, "metrics" metrics alone.
 */
export function observedParts(): ObservedParts {
  const raw = process.env.BENCH_OBSERVED_PARTS;
  if (!raw) return { metrics: true, tracing: true, sdk: true };
  const picked = raw.split(',').map((s) => s.trim());
  const unknown = picked.filter((p) => !(PART_NAMES as readonly string[]).includes(p));
  if (unknown.length)
    throw new Error(`BENCH_OBSERVED_PARTS: unknown part(s) ${unknown.join(', ')} (use ${PART_NAMES.join(',')})`);
  return { metrics: picked.includes('metrics'), tracing: picked.includes('tracing'), sdk: picked.includes('sdk') };
}
