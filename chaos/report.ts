/**
 * The chaos report: a table per scenario as it ends, then a summary table (markdown, ready for
 * the README) with the explanation of every duplicate, refusal and overlap underneath.
 */
import type { Overlap } from './analysis';
import type { FlowFindings } from './flow-analysis';
import type { ScenarioResult } from './scenarios';

export interface Verdict {
  readonly ok: boolean;
  readonly reasons: string[];
}

/**
 * Fails on: no acknowledged task, lost tasks, unexpected overlaps, unexplained duplicates, attempts spent on a lapsed
 * lease, current generations aborted, flow limits exceeded or a group starved, or a scenario error.
 */
export function verdict(r: ScenarioResult): Verdict {
  const reasons: string[] = r.errors.map((e) => e.split('\n')[0]);
  const f = r.findings;
  if (!f) return { ok: false, reasons: reasons.length ? reasons : ['no findings'] };
  // A scenario whose every enqueue was refused proves nothing (it once passed with 0 tasks).
  if (r.tasks === 0) reasons.push(`no enqueue acknowledged (${r.rejectedEnqueues} rejected)`);
  if (f.lost.length > 0) reasons.push(`${f.lost.length} acknowledged task(s) lost`);
  const unexpected = f.overlaps.filter(
    (o) => o.cls === 'unexpected' || (o.cls === 'stall' && !r.stallOverlapsExpected),
  );
  if (unexpected.length > 0) reasons.push(`${unexpected.length} unexpected overlap(s)`);
  const unexplained =
    (f.duplicateEffectReasons.get('UNEXPLAINED') ?? 0) + (f.duplicateSettleReasons.get('UNEXPLAINED') ?? 0);
  if (unexplained > 0) reasons.push(`${unexplained} unexplained duplicate run(s) or settle(s)`);
  // Chaos handlers fail only when aborted: an attempt spent because the worker's lease lapsed
  // says nothing about the task, yet retries it and, repeated, dead-letters a healthy one.
  const leaseFailures = [...f.failures].filter(([why]) => /lease/i.test(why)).reduce((n, [, k]) => n + k, 0);
  if (leaseFailures > 0) reasons.push(`${leaseFailures} attempt(s) spent on a lapsed lease instead of left pending`);
  if (f.currentRunsAborted > 0)
    reasons.push(`${f.currentRunsAborted} run(s) of a key's current generation aborted as superseded/cancelled`);
  if (r.flow && r.flow.violations.length > 0) reasons.push(`flow limits exceeded: ${r.flow.violations[0]}`);
  if (r.flow && r.flow.starved.length > 0) reasons.push(`group(s) never started: ${r.flow.starved.join(', ')}`);
  return { ok: reasons.length === 0, reasons };
}

function overlapCell(r: ScenarioResult): string {
  const f = r.findings;
  if (!f) return '-';
  const n = f.overlaps.length;
  if (n === 0) return r.stallOverlapsExpected ? '0 (expected: some)' : '0';
  const by = count(f.overlaps.map((o) => o.cls));
  const parts: string[] = [];
  if (by.get('stall'))
    parts.push(`${by.get('stall')} ${r.stallOverlapsExpected ? 'expected: stalled past maxStallMs' : 'stall'}`);
  if (by.get('duplicate-enqueue')) parts.push(`${by.get('duplicate-enqueue')} resent enqueue`);
  if (by.get('wind-down')) parts.push(`${by.get('wind-down')} wind-down after abort`);
  if (by.get('unexpected')) parts.push(`${by.get('unexpected')} UNEXPECTED`);
  return `${n} (${parts.join(', ')})`;
}

function dupCell(total: number, reasons: Map<string, number>): string {
  if (total === 0) return '0';
  const bad = reasons.get('UNEXPLAINED') ?? 0;
  return bad > 0 ? `${total} (${bad} UNEXPLAINED)` : `${total} (explained)`;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function row(r: ScenarioResult): string[] {
  const f = r.findings;
  const refused = f ? [...f.refusals.values()].reduce((a, b) => a + b, 0) : 0;
  return [
    r.id,
    String(r.tasks),
    f ? String(f.lost.length) : '-',
    overlapCell(r),
    f ? dupCell(f.duplicateEffects, f.duplicateEffectReasons) : '-',
    f ? dupCell(f.duplicateSettles, f.duplicateSettleReasons) : '-',
    String(refused),
    String(r.kills),
    String(r.restarts),
    String(r.cuts),
    seconds(r.wallMs),
    verdict(r).ok ? 'pass' : 'FAIL',
  ];
}

const HEADER = [
  'scenario',
  'tasks',
  'lost',
  'concurrent overlaps',
  'duplicate side effects',
  'duplicate settles',
  'settles refused',
  'kills',
  'Redis restarts',
  'connection cuts',
  'wall time',
  'verdict',
];

/** Printed when a scenario ends: one metric per line. */
export function scenarioTable(r: ScenarioResult): string {
  const cells = row(r);
  const lines = HEADER.map((h, i) => `| ${h.padEnd(24)} | ${cells[i]} |`);
  return [
    `| ${'metric'.padEnd(24)} | ${r.id} |`,
    `|${'-'.repeat(26)}|---|`,
    ...lines.slice(1),
    ...details(r).map((d) => `  ${d}`),
  ].join('\n');
}

export function summaryTable(results: ScenarioResult[]): string {
  const rows = [HEADER, ...results.map(row)];
  const widths = HEADER.map((_, i) => Math.max(...rows.map((cells) => cells[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [
    line(HEADER),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...results.map((r) => line(row(r))),
  ].join('\n');
}

/** The explanations under a scenario's row. */
export function details(r: ScenarioResult): string[] {
  const out: string[] = [];
  const f = r.findings;
  if (f) {
    out.push(
      `runs started: ${f.runs}; events: ${
        Object.entries(f.events)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ') || 'none'
      }`,
    );
    out.push(
      `longest pause between completions: ${seconds(f.longestPause.ms)} (from +${seconds(f.longestPause.at - r.startedAt)})`,
    );
    if (r.rejectedEnqueues > 0 || r.restarts > 0 || r.cuts > 0) {
      out.push(
        `enqueues rejected to the producer (never acknowledged, so not counted as lost): ${r.rejectedEnqueues} task(s)`,
      );
    }
    if (r.flow) out.push(...flowDetails(r.flow, r.startedAt));
    for (const [why, n] of f.duplicateEffectReasons) out.push(`duplicate side effect x${n}: ${why}`);
    for (const [why, n] of f.duplicateSettleReasons) out.push(`duplicate settle x${n}: ${why}`);
    for (const [detail, n] of f.refusals) {
      out.push(
        `settle refused x${n}: ${detail === 'owned-by-another' ? 'another worker had taken the run over' : 'the run was no longer pending'} (${detail})`,
      );
    }
    for (const [why, n] of f.failures) out.push(`failed attempt x${n}: ${why}`);
    if (f.currentRunsAborted > 0) {
      out.push(
        `CURRENT GENERATION ABORTED x${f.currentRunsAborted}: a run aborted as superseded/cancelled was the key's newest generation (its settle retried it instead of discarding it)`,
      );
    }
    for (const [why, n] of f.silentCompletions) out.push(`completed without a 'completed' event x${n}: ${why}`);
    for (const u of f.unexplained) out.push(`UNEXPLAINED ${u}`);
    for (const l of f.lost.slice(0, 5)) out.push(`LOST ${l.id}: ${l.why}`);
    const windDown = f.overlaps.filter((o) => o.cls === 'wind-down').length;
    if (windDown > 0) {
      out.push(
        `wind-down overlap x${windDown}: the earlier run had stopped on ctx.signal before the later one started, but its handler ` +
          'had not returned yet (its marker release reached the ledger after the later start): the library settles an aborted run ' +
          'when the abort fires, not when the handler returns (documented: "Timeouts and aborts reject the attempt at once")',
      );
    }
    const shown = f.overlaps
      .filter((o) => (o.cls !== 'stall' || !r.stallOverlapsExpected) && o.cls !== 'wind-down')
      .slice(0, 5);
    for (const o of shown) out.push(`overlap (${o.cls}): ${describeOverlap(o)}`);
  }
  out.push(...r.notes);
  out.push(...r.errors.map((e) => `ERROR ${e}`));
  return out;
}

function flowDetails(flow: FlowFindings, t0: number): string[] {
  const { limits, mostGlobal, mostInGroup, firstTaskWait, taskWait } = flow;
  const at = (ts: number) => `+${seconds(ts - t0)}`;
  return [
    `flow: most runs at once ${mostGlobal.n} (limit ${limits.globalConcurrency}, at ${at(mostGlobal.at)}), ` +
      `most of one group ${mostInGroup.n} (limit ${limits.groupConcurrency}, ${mostInGroup.group} at ${at(mostInGroup.at)}); ` +
      `${flow.runs} runs over ${flow.groups} groups, ${flow.cutAtTakeover} counted until their task's takeover (killed, stalled, cut off)`,
    `flow waits (enqueue acknowledged to first start): a group's first task at most ${firstTaskWait.ms} ms (${firstTaskWait.group}); ` +
      `any task p50 ${taskWait.p50} ms, p99 ${taskWait.p99} ms, max ${taskWait.maxMs} ms (${taskWait.group}); ` +
      `groups never started: ${flow.starved.length === 0 ? 'none' : flow.starved.join(', ')}`,
    ...[
      flow.rate && (['rateLimit', flow.rate, limits.rateLimit] as const),
      flow.groupRate && (['groupRateLimit', flow.groupRate, limits.groupRateLimit] as const),
    ]
      .filter((x) => !!x)
      .map(
        ([what, r, limit]) =>
          `flow ${what}: most starts in any ${limit?.perMs} ms of Redis time ${r.n} (limit ${limit?.max}${r.group ? `, group ${r.group}` : ''}), ` +
          `${r.starts} starts checked (restarts included)`,
      ),
    ...(flow.partitions.length > 1
      ? [
          `flow per partition (tasks acknowledged, their groups, runs, most runs at once / share of globalConcurrency): ${flow.partitions
            .map((p, i) => `p${i} ${p.tasks} tasks, ${p.groups} groups, ${p.runs} runs, ${p.mostAtOnce}/${p.share}`)
            .join('; ')}`,
        ]
      : []),
    ...flow.violations.map((v) => `FLOW LIMIT EXCEEDED: ${v}`),
  ];
}

function describeOverlap(o: Overlap): string {
  const run = (x: Overlap['first'] | undefined) =>
    x ? `${x.worker} attempt ${x.attempt} entry ${x.entry} [${x.start}..${x.end} ${x.how}]` : 'an unknown run';
  return `${o.kind} ${o.subject}: ${run(o.first)} and ${run(o.second)} (seen by ${[...o.seenBy].join(' and ')})`;
}

function count<T>(items: T[]): Map<T, number> {
  const m = new Map<T, number>();
  for (const i of items) m.set(i, (m.get(i) ?? 0) + 1);
  return m;
}
