/**
 * The report's "flow control" section (issue 11): each flow drain (flow-sides.ts) against the plain
 * `sq` drain of the same round. A ratio taken inside a round compares two runs under the same load,
 * so it is the figure held to the target; the absolute rates move with the machine.
 */
import { scriptCalls, totalCommands } from './redis-stats';
import type { ReportInput } from './report';
import { SIDE_LABEL, type Measurement, type SideName } from './scenario';
import { FLOW_GROUPS, FLOW_SIDES, GROUP_CONCURRENCY, RATE, RATE_WINDOWS } from './flow-sides';
import { median, spread } from './stats';

/** Issue 11: a flow drain keeps at least this share of the plain drain's rate. */
export const FLOW_TARGET = 0.7;
/** Issue 11: the rate-limited drain starts within this share of its configured rate. */
export const RATE_TARGET = 0.02;

const rate = (m: Measurement) => (m.tasks / m.elapsedMs) * 1000;
const perTask = (runs: Measurement[], f: (m: Measurement) => number) =>
  median(runs.map((m) => f(m) / m.tasks)).toFixed(2);
const cpu = (runs: Measurement[], of: (m: Measurement) => number | undefined = (m) => m.cpuMicrosPerTask) => {
  const values = runs.flatMap((m) => (of(m) === undefined ? [] : [of(m)!]));
  return values.length ? median(values).toFixed(1) : '—';
};

function row(side: SideName, runs: Measurement[], ratios: number[]): string {
  const ratioCell = ratios.length
    ? (() => {
        const s = spread(ratios);
        return `${s.median.toFixed(2)}× (${s.min.toFixed(2)} – ${s.max.toFixed(2)})`;
      })()
    : '—';
  const verdict = ratios.length ? (median(ratios) >= FLOW_TARGET ? 'met' : '**NOT met**') : '—';
  const target = side === 'sq' ? 'baseline' : `≥ ${FLOW_TARGET}×: ${verdict}`;
  const tasksPerSecond = Math.round(median(runs.map(rate))).toLocaleString('en-US');
  return (
    `| ${SIDE_LABEL[side]} | ${tasksPerSecond} | ${side === 'sq' ? '1.00×' : ratioCell} | ${target} | ` +
    `${perTask(runs, (m) => totalCommands(m.commands))} | ${perTask(runs, (m) => scriptCalls(m.commands))} | ` +
    `${cpu(runs)} | ${cpu(runs, (m) => m.redisCpuMicrosPerTask)} |`
  );
}

/** Empty unless the run had the plain drain and at least one flow drain in a common round. */
export function flowSection(input: ReportInput): string {
  const drains = input.measurements.filter((m) => m.scenario === 'drain');
  const plain = drains.filter((m) => m.side === 'sq');
  const rows: string[] = [];
  let rounds = 0;
  for (const side of FLOW_SIDES.filter((s) => s !== 'sq-rate')) {
    const runs = drains.filter((m) => m.side === side);
    const paired = runs.flatMap((m) => {
      const base = plain.find((p) => p.round === m.round);
      return base ? [rate(m) / rate(base)] : [];
    });
    if (!paired.length) continue;
    rounds = Math.max(rounds, paired.length);
    rows.push(row(side, runs, paired));
  }
  const rated = rateSection(drains.filter((m) => m.side === 'sq-rate'));
  if (!rows.length) return rated;
  return `## Flow control: the drain under limits

The drain above with the task under flow control, against the plain nest-stream-queue drain of the
same round (${rounds} rounds). \`${FLOW_SIDES[0]}\`: the task declares \`globalConcurrency\` equal to the
prefill (${input.config.drainTasks.toLocaleString('en-US')}): a prefilled task holds its slot from its enqueue, so a smaller limit would
bind at the prefill; this one never binds, and what is measured is admission and release alone;
\`${FLOW_SIDES[1]}\`: tasks spread over ${FLOW_GROUPS} groups (\`group: 'g' + (i % ${FLOW_GROUPS})\`) under
\`groupConcurrency: ${GROUP_CONCURRENCY}\`, so at most ${FLOW_GROUPS * GROUP_CONCURRENCY} are in the stream at once and each settle admits
the next. Both prefill through \`enqueueMany\` (enqueue-flow.lua, one script call per task; outside
the window). Ratio = flow rate / plain rate inside a round: median (min – max). The rate-limited
drain is measured against its configured rate, below. Redis CPU is its main thread's over the
window (INFO cpu, server-wide like the command counts): the thread every script runs on.

| Side | tasks/s (median) | vs plain drain, same round | target | Redis cmds/task | script calls/task | worker CPU µs/task | Redis CPU µs/task |
|---|--:|--:|---|--:|--:|--:|--:|
${row('sq', plain, [])}
${rows.join('\n')}
${rated}`;
}

/** The rate-limited drain against its configured rate; empty when it did not run. */
function rateSection(runs: Measurement[]): string {
  const rated = runs.filter((m) => m.rate !== undefined);
  if (!rated.length) return '';
  const lines = rated.map((m) => {
    const r = m.rate!;
    const off = r.achievedPerWindow / r.max - 1;
    const verdict = Math.abs(off) <= RATE_TARGET && r.mostInWindow <= r.max ? 'met' : '**NOT met**';
    return (
      `| ${m.round} | ${r.starts.toLocaleString('en-US')} | ${(r.spanMs / 1000).toFixed(2)} s | ` +
      `${r.achievedPerWindow.toFixed(1)} | ${(off * 100).toFixed(2)}% | ${r.mostInWindow} | ${verdict} | ` +
      `${(totalCommands(m.commands) / m.tasks).toFixed(2)} | ${(scriptCalls(m.commands) / m.tasks).toFixed(2)} |`
    );
  });
  return `
### The rate-limited drain

\`${SIDE_LABEL['sq-rate']}\`: ${(RATE.max * RATE_WINDOWS).toLocaleString('en-US')} tasks (${RATE_WINDOWS} windows' worth) of a task with
\`rateLimit: { max: ${RATE.max}, perMs: ${RATE.perMs} }\`, prefilled, then drained by one worker. Starts are the handlers'
\`ctx.startedAt\` (Redis's clock, the time each start was counted). Achieved rate: each start is paired with
the start ${RATE.max} places after it, the first one a full window lets in after it; the mean of those
gaps is how long the limiter took per window's worth, whatever the shape of the starts (a burst at each
window's opening, or a trickle), and achieved = ${RATE.max} starts per that mean, per ${RATE.perMs} ms. A limiter
that starts each task the moment the window allows achieves exactly ${RATE.max}; every ms of lag in any
window lowers it. Target: within ${RATE_TARGET * 100}% of ${RATE.max}, and never more than ${RATE.max} starts in any ${RATE.perMs} ms.

| round | starts | span | achieved per ${RATE.perMs} ms | vs configured | most in any ${RATE.perMs} ms | target | Redis cmds/task | script calls/task |
|--:|--:|--:|--:|--:|--:|---|--:|--:|
${lines.join('\n')}
`;
}
