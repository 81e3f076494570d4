/**
 * Turns measurements into the markdown written to docs/benchmarks.md and printed to stdout:
 * a results table (median, min-max, ratio to BullMQ and to the raw ceiling, commands per task),
 * the command mix behind each figure, the machine, and how each figure was taken.
 */
import type { BenchConfig } from './config';
import { scriptCalls, totalCommands } from './redis-stats';
import {
  CLOSE_HANDLER_MS,
  CLOSE_IN_FLIGHT,
  CLOSE_WARMUP,
  Measurement,
  PARTICIPANTS,
  SIDE_LABEL,
  ScenarioName,
  SideName,
} from './scenario';
import { flowSection } from './flow-report';
import { observedCostSection } from './observed-report';
import { SAMPLED_RATIO, TRACED_CHUNK } from './observed-sides';
import { median, spread } from './stats';

export interface Failure {
  side: SideName;
  scenario: ScenarioName;
  round: number;
  error: string;
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  redis: string;
  redisOs: string;
}

/** How quiet the machine and Redis were, sampled by the parent before every measurement. */
export interface Conditions {
  /** os.loadavg()[0] before the first measurement, when only others can have caused it. */
  startLoad: number;
  /** os.loadavg()[0] before each measurement (includes the benchmark's own Node and Redis work). */
  load: number[];
  /** Redis clients connected besides the parent's probe. */
  otherClients: number[];
}

export interface ReportInput {
  config: BenchConfig;
  machine: Machine;
  command: string;
  startedAt: Date;
  durationMs: number;
  measurements: Measurement[];
  failures: Failure[];
  conditions: Conditions;
}

interface Metric {
  scenario: ScenarioName;
  title: string;
  unit: string;
  higherIsBetter: boolean;
  /** Commands per task belong to the run the metric comes from; memory shares the drain's run. */
  commandsHere: boolean;
  value(m: Measurement): number | undefined;
  format(v: number): string;
  /** Below this magnitude a value is noise: no ratio is computed against or from it. */
  noiseFloor?: number;
}

const int = (v: number) => Math.round(v).toLocaleString('en-US');
const ms = (v: number) => (v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : int(v));
const throughput = (m: Measurement) => (m.tasks / m.elapsedMs) * 1000;

function metrics(c: BenchConfig): Metric[] {
  const n = (v: number) => v.toLocaleString('en-US');
  const latencyRuns = `${n(c.latencyRate)}/s for ${c.latencySeconds} s`;
  const rate = (scenario: ScenarioName, title: string): Metric => ({
    scenario,
    title,
    unit: 'tasks/s',
    higherIsBetter: true,
    commandsHere: true,
    value: throughput,
    format: int,
  });
  const lat = (title: string, pick: (m: Measurement) => number | undefined): Metric => ({
    scenario: 'latency',
    title: `latency ${title} (${latencyRuns})`,
    unit: 'ms',
    higherIsBetter: false,
    commandsHere: title === 'p50',
    value: pick,
    format: ms,
  });
  return [
    rate('enqueue-bulk', `enqueue-bulk (${n(c.bulkTasks)}, chunks of ${n(c.chunk)})`),
    rate('enqueue-single', `enqueue-single (${n(c.singleTasks)}, ${c.singleParallel} in flight)`),
    rate('drain', `drain (${n(c.drainTasks)} prefilled, concurrency ${c.concurrency})`),
    lat('p50', (m) => m.latency?.p50),
    lat('p99', (m) => m.latency?.p99),
    lat('max', (m) => m.latency?.max),
    {
      scenario: 'drain',
      title: `worker CPU time per task during the drain (${n(c.drainTasks)})`,
      unit: 'µs',
      higherIsBetter: false,
      commandsHere: false,
      value: (m) => m.cpuMicrosPerTask,
      format: (v) => v.toFixed(1),
    },
    {
      scenario: 'drain',
      title: `memory left after drain (${n(c.drainTasks)})`,
      unit: 'bytes/task',
      higherIsBetter: false,
      commandsHere: false,
      value: (m) => (m.memoryBytes === undefined ? undefined : m.memoryBytes / m.tasks),
      // used_memory moves by tens of KB on its own: under 1 byte/task (50 KB over 50,000) is noise.
      format: (v) => (Math.abs(v) < 1 ? '< 1' : v.toFixed(1)),
      noiseFloor: 1,
    },
    {
      scenario: 'drain',
      title: `memory in keys left after drain (${n(c.drainTasks)}), sum of MEMORY USAGE`,
      unit: 'bytes/task',
      higherIsBetter: false,
      commandsHere: false,
      value: (m) => (m.keyBytes === undefined ? undefined : m.keyBytes / m.tasks),
      format: (v) => v.toFixed(2),
    },
    {
      scenario: 'close',
      title: 'close of an idle worker (after consuming, nothing in flight)',
      unit: 'ms',
      higherIsBetter: false,
      commandsHere: false,
      value: (m) => m.closeIdleMs,
      format: ms,
    },
    {
      scenario: 'close',
      title: `close with ${CLOSE_IN_FLIGHT} runs in flight (${CLOSE_HANDLER_MS} ms handlers, drained)`,
      unit: 'ms',
      higherIsBetter: false,
      commandsHere: false,
      value: (m) => m.closeBusyMs,
      format: ms,
    },
  ];
}

function ratio(value: number, base: number | undefined, floor = 0): string {
  if (base === undefined || !Number.isFinite(base) || !Number.isFinite(value)) return '—';
  // A ratio against a value at or below the noise floor (or negative: noise again) means nothing.
  if (base <= floor || value < floor || base === 0) return '—';
  const r = value / base;
  return `${r >= 100 ? Math.round(r) : r < 0.1 ? r.toPrecision(2) : r.toFixed(2)}×`;
}

function perTask(runs: Measurement[], count: (m: Measurement) => number): string {
  if (runs.length === 0) return '—';
  return median(runs.map((m) => count(m) / m.tasks)).toFixed(2);
}

function resultsTable(input: ReportInput): string {
  const rows: string[] = [
    '| Scenario | Side | Median | Min – max | vs BullMQ | vs raw | Redis cmds/task | script calls/task |',
    '|---|---|--:|--:|--:|--:|--:|--:|',
  ];
  for (const metric of metrics(input.config)) {
    const medians = new Map<SideName, number>();
    const runsBySide = new Map<SideName, Measurement[]>();
    const sides = PARTICIPANTS[metric.scenario].filter((s) => input.config.sides.includes(s));
    for (const side of sides) {
      const runs = input.measurements.filter(
        (m) => m.side === side && m.scenario === metric.scenario && metric.value(m) !== undefined,
      );
      runsBySide.set(side, runs);
      if (runs.length) medians.set(side, spread(runs.map((m) => metric.value(m) as number)).median);
    }
    let first = true;
    for (const side of sides) {
      const runs = runsBySide.get(side) ?? [];
      const failed = input.failures.filter((f) => f.side === side && f.scenario === metric.scenario).length;
      const better = metric.higherIsBetter ? 'higher' : 'lower';
      const head = first ? `${metric.title}, ${metric.unit}, ${better} is better` : '';
      first = false;
      if (runs.length === 0) {
        rows.push(`| ${head} | ${SIDE_LABEL[side]} | ${failed ? `failed (${failed} runs)` : 'not run'} | | | | | |`);
        continue;
      }
      const s = spread(runs.map((m) => metric.value(m) as number));
      const suffix = failed ? ` (${s.n} of ${s.n + failed} runs)` : '';
      const elsewhere = metric.scenario === 'drain' ? 'see drain' : '—';
      const cmds = metric.commandsHere ? perTask(runs, (m) => totalCommands(m.commands)) : elsewhere;
      const scripts = metric.commandsHere ? perTask(runs, (m) => scriptCalls(m.commands)) : '';
      const vsBull = side === 'bullmq' ? '1.00×' : ratio(s.median, medians.get('bullmq'), metric.noiseFloor);
      const vsRaw = side === 'raw' ? '1.00×' : ratio(s.median, medians.get('raw'), metric.noiseFloor);
      const range = `${metric.format(s.min)} – ${metric.format(s.max)}`;
      rows.push(
        `| ${head} | ${SIDE_LABEL[side]} | ${metric.format(s.median)}${suffix} | ${range} | ` +
          `${vsBull} | ${vsRaw} | ${cmds} | ${scripts} |`,
      );
    }
  }
  return rows.join('\n');
}

function commandMix(input: ReportInput): string {
  const lines = [
    '| Scenario | Side | Commands per task (all rounds; commands run inside scripts listed under their own names) |',
    '|---|---|---|',
  ];
  for (const [scenario, sides] of Object.entries(PARTICIPANTS) as [ScenarioName, readonly SideName[]][]) {
    for (const side of sides) {
      const runs = input.measurements.filter((m) => m.side === side && m.scenario === scenario);
      // The close scenario times shutdown calls and counts no commands.
      if (!runs.length || scenario === 'close') continue;
      const tasks = runs.reduce((a, m) => a + m.tasks, 0);
      const sum: Record<string, number> = {};
      for (const m of runs) for (const [k, v] of Object.entries(m.commands)) sum[k] = (sum[k] ?? 0) + v;
      const mix = Object.entries(sum)
        .sort((a, b) => b[1] - a[1])
        .filter(([, v]) => v / tasks >= 0.005)
        .map(([k, v]) => `\`${k}\` ${(v / tasks).toFixed(2)}`)
        .join(', ');
      lines.push(`| ${scenario} | ${SIDE_LABEL[side]} | ${mix || '(none)'} |`);
    }
  }
  return lines.join('\n');
}

function problems(input: ReportInput): string {
  const out: string[] = [];
  for (const f of input.failures) {
    const excerpt = f.error.trim().split('\n').slice(0, 12).join('\n  ');
    out.push(
      `- **${SIDE_LABEL[f.side]}, ${f.scenario}, round ${f.round}: failed.**\n\n  \`\`\`\n  ${excerpt}\n  \`\`\``,
    );
  }
  for (const m of input.measurements) {
    for (const note of m.notes) out.push(`- ${SIDE_LABEL[m.side]}, ${m.scenario}, round ${m.round}: ${note}`);
  }
  return out.join('\n');
}

function keysLeftLine(input: ReportInput): string {
  const parts = input.config.sides.flatMap((side) => {
    const v = input.measurements.filter((m) => m.side === side && m.keysLeft !== undefined);
    return v.length ? [`${SIDE_LABEL[side]} ${median(v.map((m) => m.keysLeft as number))}`] : [];
  });
  return parts.length ? `Keys left under the run's prefix at that point (median): ${parts.join(', ')}.` : '';
}

function firstTaskLine(input: ReportInput): string {
  const parts = input.config.sides.flatMap((side) => {
    const values = input.measurements.filter((x) => x.side === side && x.firstTaskMs !== undefined);
    return values.length ? [`${SIDE_LABEL[side]} ${ms(median(values.map((x) => x.firstTaskMs as number)))} ms`] : [];
  });
  return parts.length ? `Worker start to first handler call (median): ${parts.join(', ')}.` : '';
}

function conditionsLine({ conditions: k, machine }: ReportInput): string {
  if (!k.load.length) return '';
  const load = spread(k.load);
  const clients = spread(k.otherClients);
  // Saturated before we started, or someone else talking to Redis: say so next to the numbers.
  const busy = k.startLoad >= machine.cores || clients.max > 0;
  return (
    `- **Conditions:** 1-min load average ${k.startLoad.toFixed(2)} before the run on ${machine.cores} cores, ` +
    `${load.min.toFixed(2)} – ${load.max.toFixed(2)} during it (the benchmark itself keeps about two busy); ` +
    `other Redis clients connected ${clients.min} – ${clients.max} (sampled before each measurement).` +
    (busy ? '\n  **The machine or Redis was not idle during this run: figures are noisier than usual.**' : '') +
    '\n'
  );
}

export function renderReport(input: ReportInput): string {
  const { config: c, machine: m } = input;
  const n = (v: number) => v.toLocaleString('en-US');
  return `# Benchmarks

nest-stream-queue against BullMQ on the same Redis, plus a raw Redis Streams loop as the ceiling.
Generated by \`bench/main.ts\`; re-run it rather than editing this file.

- **Date:** ${input.startedAt.toISOString()} (run took ${(input.durationMs / 60000).toFixed(1)} min)
- **Machine:** ${m.cpu}, ${m.cores} cores, ${m.memoryGiB.toFixed(1)} GiB, ${m.os}
- **Node:** ${m.node} · **Redis:** ${m.redis} (${m.redisOs}), same host, over TCP
- **Command:** \`${input.command}\`
${conditionsLine(input)}- **Rounds:** ${c.rounds}, sides alternating inside each round (order reversed every other round); scale ${c.scale}.
  Each measurement runs in a fresh Node process; every key it creates carries a unique prefix and is
  deleted afterwards (nothing is flushed).

## Results

Median over the rounds, min – max across them. "vs BullMQ" and "vs raw" divide this side's median by
theirs (for throughput, above 1× is faster; for latency and memory, below 1× is better).
"Redis cmds/task" is the INFO commandstats delta over the measured window divided by the tasks in it
(commands run inside Lua scripts count under their own names as well as the EVALSHA that ran them; the
harness's own INFO/SCAN/XINFO/XLEN are removed). "script calls/task" counts EVAL/EVALSHA/FCALL only.

${resultsTable(input)}

${observedCostSection(input)}
${flowSection(input)}
### Command mix

${commandMix(input)}

## How each figure is taken

- **enqueue-bulk:** ${n(c.bulkTasks)} tasks sent in sequential chunks of ${n(c.chunk)}, one chunk in flight:
  \`QueueClient.enqueueMany\` vs \`Queue.addBulk\` vs one pipeline of XADD per chunk (raw). The same
  chunking for all three. A warm-up of 100 tasks precedes the window. Producer-only: nest-stream-queue
  runs a Nest application context with \`worker: false\`.
- **enqueue-single:** ${n(c.singleTasks)} single enqueues (\`QueueClient.enqueue\` vs \`Queue.add\`),
  ${c.singleParallel} in flight at any time, after a warm-up of 100.
- **drain:** ${n(c.drainTasks)} ${
    c.drainHandlerMs ? `tasks whose handler awaits a ${c.drainHandlerMs} ms timer (standing for I/O)` : 'no-op tasks'
  } prefilled (same chunked bulk enqueue, producer closed), then one
  worker at concurrency ${c.concurrency} in the benchmark's process: BullMQ
  \`Worker({ concurrency: ${c.concurrency} })\`; nest-stream-queue a Nest application context with
  \`StreamQueueModule.forRoot({ concurrency: ${c.concurrency} })\` and one \`@Task('bench.noop')\` handler.
  The clock starts just before the worker is constructed (\`new Worker\` /
  \`NestFactory.createApplicationContext\`) and stops at the last completion: BullMQ's last
  \`completed\` event; for nest-stream-queue, the first poll (every 2 ms, once every handler has run)
  that finds no pending entry left in the queue's stream. Raw: one loop, each round trip a pipeline of
  [XACK + XDEL of the previous batch, XREADGROUP COUNT 100], the batch's no-op handlers awaited together.
  ${firstTaskLine(input)} That start-up is inside the drain time.
  Worker CPU time is the drain process's user + system CPU over the same window (\`process.cpuUsage\`),
  divided by the tasks: what a side costs the machine, less swayed than throughput by a busy host.
- **${SIDE_LABEL['sq-observed']}**, **${SIDE_LABEL['sq-observed-sampled']}** (drain only): the same
  nest-stream-queue app plus \`StreamQueueMetricsModule\` (its own registry) and \`StreamQueueTracingModule\`,
  under an OpenTelemetry SDK: \`BasicTracerProvider\` with a \`BatchSpanProcessor\` (default batch
  settings) whose exporter drops the spans, the W3C propagator and the \`AsyncLocalStorageContextManager\`;
  the first at 100 % sampling, the second with \`ParentBasedSampler({ root: TraceIdRatioBasedSampler(${SAMPLED_RATIO}) })\`.
  Their prefill runs in the drain's process with the SDK installed, in \`enqueueMany\` calls of ${TRACED_CHUNK}
  tasks (not ${n(c.chunk)}): each call's PRODUCER span is a root the sampler decides, its context travels
  in its tasks, and their runs follow that decision (parent-based), as behind a traced producer.
- **${SIDE_LABEL['sq-limit']}**, **${SIDE_LABEL['sq-groups']}** (drain only): the same drain with the
  task under flow control; see "Flow control: the drain under limits" above.
- **latency:** a worker (concurrency ${c.concurrency}) is started and idle; then single enqueues at a
  steady ${n(c.latencyRate)}/s for ${c.latencySeconds} s (open loop: sends do not wait for replies), from the same process.
  Each payload carries \`performance.now()\` at the enqueue call; the handler records the difference when it starts.
  Its commands per task cover a task's whole life (enqueue, delivery, completion) plus whatever the
  worker sends while it waits for work.
- **memory:** Redis \`used_memory\` after the drain run minus before its prefill, divided by the tasks.
  ${
    c.resultTtlMs === undefined
      ? 'nest-stream-queue runs with its default options (results and run state kept for 1 hour, so nothing here has expired)'
      : `For nest-stream-queue the module is configured with \`resultTtlMs: ${c.resultTtlMs}\``
  }; every side's
  reading is taken ${(c.resultTtlMs ?? 0) + 1500} ms after all its connections are closed (keys under the
  run's prefix are SCANned first, which also expires any lapsed key), and once \`used_memory\` is
  steady (two readings 250 ms apart within 4 KB), as is the reading before the prefill.
  \`used_memory\` is server-wide and allocator-level: it moves by tens of KB on its own (values
  under 1 byte/task are shown as "< 1") and by much more if other clients use the same Redis.
  So the second memory row sums \`MEMORY USAGE\` over the keys left under the run's prefix, which is
  exact and unaffected by other clients (it misses only server-side overhead such as the Lua script
  cache). BullMQ runs with \`removeOnComplete: true, removeOnFail: true\`; what it keeps is mostly
  its events stream (capped near 10,000 entries by default) and queue metadata.
  ${keysLeftLine(input)}
- **close:** how long the worker's shutdown call takes: \`app.close()\` of the Nest application context
  vs BullMQ's \`worker.close()\`, both at concurrency ${CLOSE_IN_FLIGHT} and default options (nest-stream-queue's
  \`blockMs\` is 1,000 ms). Idle: a worker consumes ${CLOSE_WARMUP} no-op tasks, waits 250 ms to settle into
  its blocking read, and is closed. Busy: a second worker takes ${CLOSE_IN_FLIGHT} tasks whose handlers
  each sleep ${CLOSE_HANDLER_MS} ms, and is closed once all ${CLOSE_IN_FLIGHT} have started; both close
  calls wait for the runs in flight, so that figure includes what is left of the ${CLOSE_HANDLER_MS} ms.
- **Options:** BullMQ defaults except \`removeOnComplete: true, removeOnFail: true\`. nest-stream-queue
  defaults except \`concurrency\`, \`worker\`, \`prefix\`${c.resultTtlMs === undefined ? '' : ' and (drain/memory run only) `resultTtlMs`'}${
    Object.keys(c.sqOptions).length ? `, plus \`${JSON.stringify(c.sqOptions)}\` from BENCH_SQ_OPTIONS` : ''
  }.
- **Caveat:** INFO commandstats is server-wide. If anything else uses this Redis during the run, its
  commands are charged to the side being measured.

## Problems seen during the run

${problems(input) || 'None.'}
`;
}
