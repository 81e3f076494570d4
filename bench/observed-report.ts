/**
 * The report's "what metrics and tracing cost" section: the sq-observed drain against the plain sq
 * drain of the same round. Each round runs both back to back, so a ratio taken inside a round
 * compares two runs under the same load; the spread of those ratios says how far to trust them.
 */
import type { ReportInput } from './report';
import type { Measurement } from './scenario';
import { spread } from './stats';

interface Pair {
  round: number;
  plain: Measurement;
  observed: Measurement;
}

function pairs(input: ReportInput): Pair[] {
  const drains = input.measurements.filter((m) => m.scenario === 'drain');
  return drains
    .filter((m) => m.side === 'sq')
    .flatMap((plain) => {
      const observed = drains.find((m) => m.side === 'sq-observed' && m.round === plain.round);
      return observed ? [{ round: plain.round, plain, observed }] : [];
    });
}

const rate = (m: Measurement) => m.tasks / m.elapsedMs;
/** Tasks per ms after the first handler call: the drain without the application's start-up. */
const steadyRate = (m: Measurement) => m.tasks / (m.elapsedMs - (m.firstTaskMs ?? 0));

function summary(values: number[], format: (v: number) => string): string {
  const s = spread(values);
  return `${format(s.median)} (${format(s.min)} – ${format(s.max)})`;
}

const percent = (v: number) => `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)} %`;

/** Empty unless the run had both sq and sq-observed drains in at least one round. */
export function observedCostSection(input: ReportInput): string {
  const found = pairs(input);
  if (found.length === 0) return '';
  const slowdown = (f: (m: Measurement) => number) => found.map((p) => 1 - f(p.observed) / f(p.plain));
  const cpu = found.filter((p) => p.plain.cpuMicrosPerTask && p.observed.cpuMicrosPerTask);
  const rows = [
    `| drain rate lost | ${summary(slowdown(rate), percent)} |`,
    `| drain rate lost after the first task (start-up excluded) | ${summary(slowdown(steadyRate), percent)} |`,
  ];
  if (cpu.length) {
    const extra = cpu.map((p) => p.observed.cpuMicrosPerTask! / p.plain.cpuMicrosPerTask! - 1);
    const micros = cpu.map((p) => p.observed.cpuMicrosPerTask! - p.plain.cpuMicrosPerTask!);
    rows.push(
      `| worker CPU added per task | ${summary(extra, percent)}, ${summary(micros, (v) => `${v.toFixed(1)} µs`)} |`,
    );
  }
  return `## What metrics and tracing cost

\`sq-observed\` against \`sq\` in the same round (${found.length} rounds; median, min – max of the
per-round figures). Rate lost = 1 − observed rate / plain rate.

| | observed vs plain |
|---|--:|
${rows.join('\n')}
`;
}
