/**
 * The report's "what metrics and tracing cost" section: each observed drain (observed-sides.ts)
 * against the plain sq drain of the same round. Each round runs them back to back, so a ratio taken
 * inside a round compares runs under the same load; the spread of those ratios says how far to
 * trust them.
 */
import type { ReportInput } from './report';
import { SIDE_LABEL, type Measurement } from './scenario';
import { OBSERVED_SIDES, SAMPLED_RATIO, TRACED_CHUNK, type ObservedSide } from './observed-sides';
import { median, spread } from './stats';

interface Pair {
  plain: Measurement;
  observed: Measurement;
}

function pairs(input: ReportInput, side: ObservedSide): Pair[] {
  const drains = input.measurements.filter((m) => m.scenario === 'drain');
  return drains
    .filter((m) => m.side === 'sq')
    .flatMap((plain) => {
      const observed = drains.find((m) => m.side === side && m.round === plain.round);
      return observed ? [{ plain, observed }] : [];
    });
}

const rate = (m: Measurement) => m.tasks / m.elapsedMs;
/** Tasks per ms after the first handler call: the drain without the application's start-up. */
const steadyRate = (m: Measurement) => m.tasks / (m.elapsedMs - (m.firstTaskMs ?? 0));

function summary(values: number[], format: (v: number) => string): string {
  if (!values.length) return '—';
  const s = spread(values);
  return `${format(s.median)} (${format(s.min)} – ${format(s.max)})`;
}

const percent = (v: number) => `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)} %`;
const times = (v: number) => `${v.toFixed(2)}×`;
const micros = (v: number) => `${v.toFixed(1)} µs`;
const perSecond = (v: number) => Math.round(v * 1000).toLocaleString('en-US');

/** One column of the section: a side's figures, each per round against that round's plain drain. */
function column(found: Pair[]): string[] {
  const per = (f: (p: Pair) => number | undefined) => found.flatMap((p) => (f(p) === undefined ? [] : [f(p)!]));
  const cpu = (p: Pair, f: (plain: number, observed: number) => number) =>
    p.plain.cpuMicrosPerTask && p.observed.cpuMicrosPerTask
      ? f(p.plain.cpuMicrosPerTask, p.observed.cpuMicrosPerTask)
      : undefined;
  const traced = per((p) =>
    p.observed.tracedTasks === undefined ? undefined : p.observed.tracedTasks / p.observed.tasks,
  );
  return [
    `${found.length}`,
    perSecond(median(found.map((p) => rate(p.observed)))),
    summary(
      per((p) => rate(p.observed) / rate(p.plain)),
      times,
    ),
    summary(
      per((p) => 1 - rate(p.observed) / rate(p.plain)),
      percent,
    ),
    summary(
      per((p) => 1 - steadyRate(p.observed) / steadyRate(p.plain)),
      percent,
    ),
    summary(
      per((p) => p.observed.cpuMicrosPerTask),
      micros,
    ),
    summary(
      per((p) => cpu(p, (plain, observed) => observed - plain)),
      micros,
    ),
    summary(
      per((p) => cpu(p, (plain, observed) => observed / plain - 1)),
      percent,
    ),
    traced.length ? summary(traced, (v) => `${(v * 100).toFixed(1)} %`) : 'no SDK',
  ];
}

const ROWS = [
  'rounds paired',
  'tasks/s (median)',
  'drain rate, observed / plain',
  'drain rate lost',
  'drain rate lost after the first task (start-up excluded)',
  'worker CPU per task',
  'worker CPU added per task',
  'worker CPU added per task, relative',
  'tasks traced (their enqueue span sampled, so their run records a span)',
];

/** Empty unless the run had the plain drain and an observed drain in at least one common round. */
export function observedCostSection(input: ReportInput): string {
  const sides = OBSERVED_SIDES.filter((side) => pairs(input, side).length > 0);
  if (!sides.length) return '';
  const columns = sides.map((side) => column(pairs(input, side)));
  const plain = input.measurements.filter((m) => m.side === 'sq' && m.scenario === 'drain');
  const plainCpu = plain.flatMap((m) => (m.cpuMicrosPerTask === undefined ? [] : [m.cpuMicrosPerTask]));
  const parts = process.env.BENCH_OBSERVED_PARTS;
  const only = parts ? `\n**BENCH_OBSERVED_PARTS=${parts}: the observed sides turn on only ${parts}.**\n` : '';
  return `## What metrics and tracing cost

Each observed drain against the plain \`sq\` drain of the same round (median, min – max of the
per-round figures). Rate lost = 1 − observed rate / plain rate; CPU added = observed − plain worker
CPU per task. The plain drain: ${perSecond(median(plain.map(rate)))} tasks/s, ${
    plainCpu.length ? micros(median(plainCpu)) : '—'
  } of worker CPU per task (median). \`sq-observed\` samples every trace; \`sq-observed-sampled\` runs
\`ParentBasedSampler({ root: new TraceIdRatioBasedSampler(${SAMPLED_RATIO}) })\`. Both prefill in the same process
with the SDK installed, in \`enqueueMany\` calls of ${TRACED_CHUNK} tasks: each call's PRODUCER span is a root
that the sampler decides, and the runs of its tasks follow that decision.
${only}
| | ${sides.map((s) => SIDE_LABEL[s]).join(' | ')} |
|---|${sides.map(() => '--:').join('|')}|
${ROWS.map((title, i) => `| ${title} | ${columns.map((c) => c[i]).join(' | ')} |`).join('\n')}
`;
}
