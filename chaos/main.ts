/**
 * Chaos runner: `npm run test:chaos` (CI: `CHAOS_SCALE=0.25 npm run test:chaos`).
 *
 * Runs each scenario of scenarios.ts against worker processes of chaos-worker.ts, on private
 * redis-servers it starts on free ports (never the Redis on 6379, never REDIS_URL): the queue's,
 * with AOF and `appendfsync always`, and a separate one for the ledger. Prints a table per
 * scenario as it ends, then a summary table and the explanations, and exits 1 if any scenario
 * lost an acknowledged task, had an overlap it should not have, left a duplicate unexplained, ran
 * more of the flow task at once than its limits allow (or starved a group), or failed outright. Knobs: CHAOS_SCALE, CHAOS_SEED, CHAOS_ONLY, CHAOS_ECHO (see config.ts).
 *
 * Every child process and redis-server is registered with test/utils/child-reaper.ts, so they
 * die with this process however it ends; each scenario also tears its own down in a finally.
 */
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import { loadConfig, Rng } from './config';
import { details, scenarioTable, summaryTable, verdict } from './report';
import { SCENARIOS, type ScenarioResult } from './scenarios';

async function main(): Promise<number> {
  const config = loadConfig();
  const root = new Rng(config.seed);
  const chosen = SCENARIOS.filter((s) => !config.only || config.only.has(s.id));
  if (chosen.length === 0)
    throw new Error(`CHAOS_ONLY matched no scenario; ids: ${SCENARIOS.map((s) => s.id).join(', ')}`);
  const redisVersion =
    execFileSync('redis-server', ['--version'])
      .toString()
      .match(/v=(\S+)/)?.[1] ?? '?';
  const started = new Date();
  process.stdout.write(
    `chaos: CHAOS_SCALE=${config.scale} CHAOS_SEED=${config.seed}; ${chosen.length} scenario(s); ` +
      `node ${process.version}, redis-server ${redisVersion}, ${os.cpus().length} cores; ${started.toISOString()}\n`,
  );
  const results: ScenarioResult[] = [];
  for (const scenario of chosen) {
    const result = await scenario.run(config.scale, root.fork(scenario.id));
    results.push(result);
    process.stdout.write(`${scenarioTable(result)}\n`);
  }
  const totalMs = Date.now() - started.getTime();
  process.stdout.write(
    `\n## Chaos summary (CHAOS_SCALE=${config.scale}, CHAOS_SEED=${config.seed}, ${started.toISOString().slice(0, 10)}, ` +
      `${(totalMs / 1000).toFixed(0)} s)\n\n${summaryTable(results)}\n\n`,
  );
  for (const r of results) {
    process.stdout.write(
      `- ${r.id}: ${r.title}\n${details(r)
        .map((d) => `  - ${d}`)
        .join('\n')}\n`,
    );
  }
  const failed = results.filter((r) => !verdict(r).ok);
  for (const r of failed) process.stdout.write(`\nFAIL ${r.id}: ${verdict(r).reasons.join('; ')}\n`);
  process.stdout.write(
    failed.length === 0 ? '\nchaos: every scenario passed\n' : `\nchaos: ${failed.length} scenario(s) failed\n`,
  );
  return failed.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`chaos: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(2);
  },
);
