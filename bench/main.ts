/**
 * Benchmark orchestrator: `npm run bench` (see config.ts for the BENCH_* knobs).
 *
 * For each round, scenario and side (sides alternate, order reversed every other round) it forks
 * child.ts for one measurement, deletes every key that run created, and finally prints the report
 * and writes it to docs/benchmarks.md. Nothing global is flushed: the bench Redis may be shared.
 */
import os from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BenchConfig, loadConfig } from './config';
import { commandLine, describeMachine } from './environment';
import { renderClusterReport } from './cluster-report';
import { runClusterScenarios } from './cluster-scenarios';
import { runChild } from './fork-child';
import { RedisProbe } from './redis-stats';
import { Conditions, Failure, renderReport } from './report';
import {
  CLOSE_IN_FLIGHT,
  ChildJob,
  ChildMessage,
  Measurement,
  PARTICIPANTS,
  SIDE_LABEL,
  ScenarioName,
  SideName,
} from './scenario';

function jobFor(config: BenchConfig, side: SideName, scenario: ScenarioName, round: number): ChildJob {
  const tasks = {
    'enqueue-bulk': config.bulkTasks,
    'enqueue-single': config.singleTasks,
    drain: config.drainTasks,
    latency: 0, // the latency run's size is rate x seconds
    close: CLOSE_IN_FLIGHT,
  }[scenario];
  return {
    side,
    scenario,
    round,
    redisUrl: config.redisUrl,
    prefix: `${config.runId}-r${round}-${side}-${scenario}`,
    tasks,
    chunk: config.chunk,
    parallel: config.singleParallel,
    concurrency: config.concurrency,
    rate: config.latencyRate,
    seconds: config.latencySeconds,
    resultTtlMs: config.resultTtlMs,
    memoryWaitMs: (config.resultTtlMs ?? 0) + 1500,
    sqOptions: config.sqOptions,
    drainHandlerMs: config.drainHandlerMs,
    cpuProfileDir: config.cpuProfileDir,
  };
}

function describe(m: Measurement): string {
  if (m.closeIdleMs !== undefined && m.closeBusyMs !== undefined) {
    return `close idle ${m.closeIdleMs.toFixed(1)} ms · close with ${m.tasks} in flight ${m.closeBusyMs.toFixed(1)} ms`;
  }
  const rate = Math.round((m.tasks / m.elapsedMs) * 1000).toLocaleString('en-US');
  const cmds = Object.values(m.commands).reduce((a, b) => a + b, 0) / m.tasks;
  const parts = [
    `${m.tasks} tasks in ${(m.elapsedMs / 1000).toFixed(2)} s = ${rate}/s`,
    `${cmds.toFixed(2)} cmds/task`,
  ];
  if (m.cpuMicrosPerTask !== undefined) parts.push(`CPU ${m.cpuMicrosPerTask.toFixed(1)} µs/task`);
  if (m.redisCpuMicrosPerTask !== undefined) parts.push(`Redis CPU ${m.redisCpuMicrosPerTask.toFixed(1)} µs/task`);
  if (m.firstTaskMs !== undefined) parts.push(`first task at ${m.firstTaskMs.toFixed(0)} ms`);
  if (m.latency) {
    const { p50, p99, max } = m.latency;
    parts.push(`p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, max ${max.toFixed(2)} ms`);
  }
  if (m.memoryBytes !== undefined) {
    parts.push(`${(m.memoryBytes / m.tasks).toFixed(1)} B/task left, ${m.keysLeft} keys`);
  }
  return parts.join(' · ');
}

async function main(): Promise<void> {
  const config = loadConfig();
  const probe = await RedisProbe.connect(config.redisUrl);
  const machine = await describeMachine(probe);
  const startedAt = new Date();
  const measurements: Measurement[] = [];
  const failures: Failure[] = [];
  const conditions: Conditions = { startLoad: os.loadavg()[0], load: [], otherClients: [] };
  let interrupted = false;
  process.on('SIGINT', () => {
    interrupted = true;
    console.error('\ninterrupted: finishing the current measurement, then cleaning up');
  });

  const where = config.redisUrl.replace(/\/\/[^@]*@/, '//***@'); // never print a password
  console.log(
    `nest-stream-queue benchmark ${config.runId}: ${config.rounds} rounds, ` +
      `scale ${config.scale}, sides ${config.sides.join(', ')}`,
  );
  console.log(`${machine.cpu} x${machine.cores}, node ${machine.node}, redis ${machine.redis} at ${where}\n`);
  try {
    for (let round = 1; round <= config.rounds && !interrupted; round++) {
      for (const scenario of config.scenarios) {
        let sides = PARTICIPANTS[scenario].filter((s) => config.sides.includes(s));
        if (round % 2 === 0) sides = [...sides].reverse();
        for (const side of sides) {
          if (interrupted) break;
          const job = jobFor(config, side, scenario, round);
          conditions.load.push(os.loadavg()[0]);
          conditions.otherClients.push((await probe.connectedClients()) - 1);
          const started = Date.now();
          const result = await runChild<ChildMessage>(
            join(__dirname, 'child.ts'),
            'BENCH_JOB',
            job,
            config.childTimeoutMs,
          );
          const deleted = await probe.deleteMatching(`*${job.prefix}*`);
          const tag = `round ${round} ${scenario.padEnd(14)} ${SIDE_LABEL[side].padEnd(20)}`;
          if (result.ok) {
            if (result.exitNote) result.measurement.notes.push(result.exitNote);
            measurements.push(result.measurement);
            const wall = ((Date.now() - started) / 1000).toFixed(1);
            console.log(`${tag} ${describe(result.measurement)} (${wall} s wall, ${deleted} keys deleted)`);
          } else {
            failures.push({ side, scenario, round, error: result.error });
            console.log(`${tag} FAILED: ${result.error.split('\n')[0]}`);
          }
        }
      }
    }
  } finally {
    const stray = await probe.deleteMatching(`*${config.runId}*`);
    if (stray) console.log(`deleted ${stray} stray keys under ${config.runId}`);
    await probe.close();
  }

  let cluster: Awaited<ReturnType<typeof runClusterScenarios>> | undefined;
  if (config.clusterDrain && !interrupted) cluster = await runClusterScenarios(config);

  const singleReport = renderReport({
    config,
    machine,
    command: commandLine(),
    startedAt,
    durationMs: Date.now() - startedAt.getTime(),
    measurements,
    failures,
    conditions,
  });
  const clusterSection = cluster ? renderClusterReport(cluster.measurements, cluster.failures) : '';
  const report = config.scenarios.length > 0 ? `${singleReport}\n${clusterSection}` : clusterSection;
  console.log(`\n${report}`);
  if (config.outFile && !interrupted) {
    mkdirSync(dirname(config.outFile), { recursive: true });
    writeFileSync(config.outFile, report);
    console.log(`written to ${config.outFile}`);
  }
  if (failures.length || cluster?.failures.length) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
