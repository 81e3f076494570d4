/**
 * The interleaving explorer: `npm run explore -- [options]`.
 *   --schedules N   random schedules to run (default 3000, capped by --seconds)
 *   --seconds S     time budget of the search in seconds (default 90; shrinking comes after)
 *   --seed S        first seed; schedule i uses seed S + i (default 20260901)
 *   --steps L       steps per schedule before the drain (default 30)
 *   --replay JSON   replay one trace (a JSON step list, or a file holding {steps})
 *   --replay-all    replay every trace under explore/traces/; each must pass
 *   --exhaustive D  every schedule of the small cases (explore/exhaustive.ts) up to D steps
 *   --save          write each minimal failing trace to explore/traces/found-<invariant>-<tag>.json
 * Exits 1 when an invariant fails. REDIS_URL is honoured; otherwise a private redis-server runs.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exhaust, SMALL_CASES } from './exhaustive';
import type { Violation } from './invariants';
import { provideRedis } from './redis';
import { closeEnv, openEnv, runSchedule, type Env } from './runner';
import { fixedSchedule, randomSchedule } from './schedule';
import { shrink } from './shrink';
import type { Step } from './steps';
import { formatTrace, replayCommand } from './trace';

const TRACES = join(__dirname, 'traces');

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}
const flag = (name: string) => process.argv.includes(`--${name}`);
const signature = (v: Violation) => `${v.invariant}[${v.tag}]`;

async function replay(env: Env, steps: Step[]) {
  return runSchedule(env, fixedSchedule(steps));
}

function readTrace(source: string): { comment?: string; steps: Step[] } {
  const text = existsSync(source) ? readFileSync(source, 'utf8') : source;
  const parsed = JSON.parse(text) as Step[] | { comment?: string; steps: Step[] };
  return Array.isArray(parsed) ? { steps: parsed } : parsed;
}

async function explore(env: Env): Promise<number> {
  const seed = Number(option('seed') ?? 20260901);
  const count = Number(option('schedules') ?? 3000);
  const seconds = Number(option('seconds') ?? 90);
  const steps = Number(option('steps') ?? 30);
  const started = Date.now();
  const found = new Map<string, { seed: number; at: number; steps: Step[] }>();
  let ran = 0;
  for (let i = 0; i < count && Date.now() - started < seconds * 1000; i++) {
    const result = await runSchedule(env, randomSchedule(seed + i, { steps, maxTasks: 6 }));
    ran++;
    const first = result.violations[0];
    if (first && !found.has(signature(first))) {
      found.set(signature(first), { seed: seed + i, at: Date.now() - started, steps: result.steps });
      console.log(
        `schedule ${i + 1} (seed ${seed + i}, ${((Date.now() - started) / 1000).toFixed(1)} s): ${signature(first)}`,
      );
    }
  }
  const exploreMs = Date.now() - started;
  console.log(
    `\n${ran} schedules in ${(exploreMs / 1000).toFixed(1)} s (seeds ${seed}..${seed + ran - 1}), ${found.size} distinct failure(s).`,
  );
  for (const [sig, f] of found) {
    const same = async (candidate: Step[]) =>
      (await replay(env, candidate)).violations.some((v) => signature(v) === sig);
    const t0 = Date.now();
    const minimal = await shrink(f.steps, same);
    const result = await replay(env, minimal);
    console.log(
      `\n=== ${sig}: seed ${f.seed}, found after ${(f.at / 1000).toFixed(1)} s; ${f.steps.length} steps shrunk to ${minimal.length} in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    console.log(formatTrace(result.lines, result.violations));
    console.log(`replay: ${replayCommand(minimal)}`);
    if (flag('save')) {
      const file = join(TRACES, `found-${sig.replace(/[^a-zA-Z0-9]+/g, '-').replace(/-$/, '')}.json`);
      writeFileSync(file, `${JSON.stringify({ comment: `${sig}, seed ${f.seed}`, steps: minimal }, null, 1)}\n`);
      console.log(`saved: ${file}`);
    }
  }
  return found.size > 0 ? 1 : 0;
}

async function replayAll(env: Env): Promise<number> {
  let failed = 0;
  for (const file of readdirSync(TRACES)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const trace = readTrace(join(TRACES, file));
    const result = await replay(env, trace.steps);
    const ok = result.violations.length === 0;
    if (!ok) failed++;
    console.log(
      `${ok ? 'PASS' : 'FAIL'} ${file}: ${trace.comment ?? ''}${ok ? '' : `\n${formatTrace(result.lines, result.violations)}`}`,
    );
  }
  return failed > 0 ? 1 : 0;
}

async function exhaustive(env: Env, depth: number): Promise<number> {
  const deadline = Date.now() + Number(option('seconds') ?? 90) * 1000;
  let failed = 0;
  for (const small of SMALL_CASES) {
    const t0 = Date.now();
    const { ran, failures } = await exhaust(env, small, depth, deadline);
    const cut = Date.now() > deadline ? ' (time budget reached: incomplete)' : '';
    console.log(
      `case ${small.name}: ${ran} schedules up to depth ${depth} in ${((Date.now() - t0) / 1000).toFixed(1)} s${cut}, ${failures.size} distinct failure(s)`,
    );
    for (const [sig, f] of failures) {
      failed++;
      const result = await replay(env, f.steps);
      console.log(`\n=== ${sig}\n${formatTrace(result.lines, result.violations)}\nreplay: ${replayCommand(f.steps)}\n`);
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
      const result = await replay(env, readTrace(source).steps);
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
