/**
 * The interleaving explorer: `npm run explore -- [options]`.
 *   --schedules N   random schedules to run (default 3000, capped by --seconds)
 *   --seconds S     time budget of the search in seconds (default 90; shrinking comes after)
 *   --seed S        first seed; schedule i uses seed S + i (default 20260901)
 *   --steps L       steps per schedule before the drain (default 30)
 *   --world W       the queue explored (explore/worlds.ts): classic (one partition), grow or shrink
 *                   (a partitioned queue whose count changes 2 -> 3 or 3 -> 2), flow (a task under
 *                   flow control), mixed (two tasks sharing its groups), rate (the same under rate
 *                   limits), flow-partitioned (flow control on a partitioned queue whose count
 *                   changes 2 -> 3; its schedules run twice --steps), shares (a task's own limits
 *                   split over 2 partitions; twice --steps too), or all (default for random
 *                   schedules: schedule i runs in world i mod 8; replays default to classic)
 *   --replay JSON   replay one trace (a JSON step list, or a file holding {world?, steps})
 *   --replay-all    replay every trace under explore/traces/; each must pass, except an open one
 *                   (a trace with `open`: a finding not fixed yet), which must still fail that way
 * Known open findings (traces with `open: '<invariant>[<tag>]'`) are let pass by the search and
 * the exhaustive mode, which report how often they saw them and look on for others.
 *   --exhaustive D  every schedule of the small cases (explore/exhaustive.ts) up to D steps
 *   --case NAME     with --exhaustive: only the small case of that name
 *   --save          write each minimal failing trace to explore/traces/found-<invariant>-<tag>.json
 * Exits 1 when an invariant fails. REDIS_URL is honoured; otherwise a private redis-server runs.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exhaust, SMALL_CASES } from './exhaustive';
import type { Violation } from './invariants';
import { provideRedis } from './redis';
import { closeEnv, openEnv, runSchedule, signature, type Env } from './runner';
import { fixedSchedule, randomSchedule } from './schedule';
import { shrink } from './shrink';
import type { Step } from './steps';
import { formatTrace, replayCommand } from './trace';
import { WORLDS, worldNamed, type WorldShape } from './worlds';

const TRACES = join(__dirname, 'traces');

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}
const flag = (name: string) => process.argv.includes(`--${name}`);

/** Runs `steps` again in `shape`, letting the known open findings `open` pass. */
async function replay(env: Env, steps: Step[], shape: WorldShape, open?: ReadonlySet<string>) {
  return runSchedule(env, fixedSchedule(steps), shape, open);
}

/** A failure's signature in a search over worlds: the world, then the violation's. */
const inWorld = (shape: WorldShape, v: Violation) => `${shape.name}:${signature(v)}`;

interface Trace {
  readonly comment?: string;
  readonly world?: string;
  /** A finding not fixed yet: the signature its replay still fails with. */
  readonly open?: string;
  readonly steps: Step[];
}

function traceFiles(): string[] {
  return readdirSync(TRACES)
    .filter((f) => f.endsWith('.json'))
    .sort();
}

/** Signatures of the known open findings, which searches let pass. */
function openFindings(): Set<string> {
  const open = traceFiles()
    .map((f) => readTrace(join(TRACES, f)).open)
    .filter((o): o is string => o !== undefined);
  return new Set(open);
}

function reportKnownOpen(seen: Map<string, number>): void {
  for (const [sig, n] of seen) console.log(`known open finding ${sig} seen in ${n} schedule(s), let pass`);
}

function readTrace(source: string): Trace {
  const text = existsSync(source) ? readFileSync(source, 'utf8') : source;
  const parsed = JSON.parse(text) as Step[] | Trace;
  return Array.isArray(parsed) ? { world: option('world'), steps: parsed } : parsed;
}

async function explore(env: Env): Promise<number> {
  const seed = Number(option('seed') ?? 20260901);
  const count = Number(option('schedules') ?? 3000);
  const seconds = Number(option('seconds') ?? 90);
  const steps = Number(option('steps') ?? 30);
  const started = Date.now();
  const worlds =
    option('world') === undefined || option('world') === 'all' ? Object.values(WORLDS) : [worldNamed(option('world'))];
  const found = new Map<string, { seed: number; at: number; steps: Step[]; shape: WorldShape }>();
  const open = openFindings();
  const seenOpen = new Map<string, number>();
  let ran = 0;
  const changes = { tried: 0, committed: 0 };
  for (let i = 0; i < count && Date.now() - started < seconds * 1000; i++) {
    const shape = worlds[i % worlds.length];
    const length = Math.round(steps * (shape.stepsScale ?? 1));
    const result = await runSchedule(env, randomSchedule(seed + i, { steps: length, maxTasks: 6 }), shape, open);
    ran++;
    for (const sig of result.knownOpen) seenOpen.set(sig, (seenOpen.get(sig) ?? 0) + 1);
    if (result.countChanged !== undefined) {
      changes.tried++;
      if (result.countChanged) changes.committed++;
    }
    const first = result.violations[0];
    const sig = first && inWorld(shape, first);
    if (sig && !found.has(sig)) {
      found.set(sig, { seed: seed + i, at: Date.now() - started, steps: result.steps, shape });
      console.log(`schedule ${i + 1} (seed ${seed + i}, ${((Date.now() - started) / 1000).toFixed(1)} s): ${sig}`);
    }
  }
  const exploreMs = Date.now() - started;
  console.log(
    `\n${ran} schedules in ${(exploreMs / 1000).toFixed(1)} s (seeds ${seed}..${seed + ran - 1}), ${found.size} distinct failure(s).`,
  );
  if (changes.tried > 0)
    console.log(`partitioned schedules: ${changes.committed} of ${changes.tried} committed their count change.`);
  reportKnownOpen(seenOpen);
  for (const [sig, f] of found) {
    const same = async (candidate: Step[]) =>
      (await replay(env, candidate, f.shape, open)).violations.some((v) => inWorld(f.shape, v) === sig);
    const t0 = Date.now();
    const minimal = await shrink(f.steps, same);
    const result = await replay(env, minimal, f.shape, open);
    console.log(
      `\n=== ${sig}: seed ${f.seed}, found after ${(f.at / 1000).toFixed(1)} s; ${f.steps.length} steps shrunk to ${minimal.length} in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    console.log(formatTrace(result.lines, result.violations));
    console.log(`replay: ${replayCommand(minimal, f.shape.name)}`);
    if (flag('save')) {
      const file = join(TRACES, `found-${sig.replace(/[^a-zA-Z0-9]+/g, '-').replace(/-$/, '')}.json`);
      const trace: Trace = { comment: `${sig}, seed ${f.seed}`, world: f.shape.name, steps: minimal };
      writeFileSync(file, `${JSON.stringify(trace, null, 1)}\n`);
      console.log(`saved: ${file}`);
    }
  }
  return found.size > 0 ? 1 : 0;
}

async function replayAll(env: Env): Promise<number> {
  let failed = 0;
  for (const file of traceFiles()) {
    const trace = readTrace(join(TRACES, file));
    const result = await replay(env, trace.steps, worldNamed(trace.world));
    const ok = result.violations.length === 0;
    const stillOpen = trace.open !== undefined && result.violations.some((v) => signature(v) === trace.open);
    const verdict = trace.open === undefined ? (ok ? 'PASS' : 'FAIL') : stillOpen ? 'OPEN' : 'FIXED? (drop `open`)';
    if (verdict !== 'PASS' && verdict !== 'OPEN') failed++;
    console.log(
      `${verdict} ${file}: ${trace.comment ?? ''}${ok ? '' : `\n${formatTrace(result.lines, result.violations)}`}`,
    );
  }
  return failed > 0 ? 1 : 0;
}

async function exhaustive(env: Env, depth: number): Promise<number> {
  const deadline = Date.now() + Number(option('seconds') ?? 90) * 1000;
  let failed = 0;
  const open = openFindings();
  for (const small of SMALL_CASES.filter((c) => option('case') === undefined || c.name === option('case'))) {
    const t0 = Date.now();
    const { ran, failures, knownOpen } = await exhaust(env, small, depth, deadline, open);
    const shape = worldNamed(small.world);
    const cut = Date.now() > deadline ? ' (time budget reached: incomplete)' : '';
    console.log(
      `case ${small.name}: ${ran} schedules up to depth ${depth} in ${((Date.now() - t0) / 1000).toFixed(1)} s${cut}, ${failures.size} distinct failure(s)`,
    );
    reportKnownOpen(knownOpen);
    for (const [sig, f] of failures) {
      failed++;
      const result = await replay(env, f.steps, shape, open);
      console.log(
        `\n=== ${sig}\n${formatTrace(result.lines, result.violations)}\nreplay: ${replayCommand(f.steps, shape.name)}\n`,
      );
    }
  }
  return failed > 0 ? 1 : 0;
}

async function main(): Promise<number> {
  const redis = await provideRedis();
  const env = await openEnv(redis.url);
  try {
    const source = option('replay');
    if (source) {
      const trace = readTrace(source);
      const result = await replay(env, trace.steps, worldNamed(trace.world));
      console.log(formatTrace(result.lines, result.violations));
      console.log(result.violations.length === 0 ? 'PASS' : 'FAIL');
      return result.violations.length === 0 ? 0 : 1;
    }
    if (flag('replay-all')) return await replayAll(env);
    const depth = option('exhaustive');
    if (depth) return await exhaustive(env, Number(depth));
    return await explore(env);
  } finally {
    await closeEnv(env);
    await redis.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(2);
  },
);
