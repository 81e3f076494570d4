/**
 * The cluster scenarios of `npm run bench`: the drain of one logical queue with 6 partitions on a
 * local 3-master Redis Cluster, the same on one Redis, and BullMQ on the same cluster (its queue
 * lives in one slot). The harness starts both on free ports with the machine's redis-server, so
 * the two topologies run the same binary with the same settings. Masters have no replicas here:
 * on 2 cores, replicas would take CPU from the run being measured (the cluster specs and chaos
 * run with replicas).
 */
import { join } from 'node:path';
import { startRedisServer } from '../lib/testing/redis-server';
import { startRedisCluster } from '../test/utils/redis-cluster';
import type { ClusterChildMessage, ClusterJob, ClusterMeasurement, MasterUsage } from './cluster-child';
import { placePartitionsEvenly } from './cluster-placement';
import type { BenchConfig } from './config';
import { runChild } from './fork-child';

export const CLUSTER_SCENARIO = 'cluster-drain';
export const CLUSTER_PARTITIONS = 6;
export const CLUSTER_MASTERS = 3;

export type ClusterRun = Pick<ClusterJob, 'side' | 'topology'>;

export const CLUSTER_RUNS: readonly ClusterRun[] = [
  { side: 'sq', topology: 'cluster' },
  { side: 'sq', topology: 'single' },
  { side: 'bullmq', topology: 'cluster' },
];

export interface ClusterFailure {
  run: ClusterRun;
  round: number;
  error: string;
}

export async function runClusterScenarios(
  config: BenchConfig,
): Promise<{ measurements: ClusterMeasurement[]; failures: ClusterFailure[] }> {
  const cluster = await startRedisCluster({ masters: CLUSTER_MASTERS, replicas: 0 });
  const single = await startRedisServer();
  const measurements: ClusterMeasurement[] = [];
  const failures: ClusterFailure[] = [];
  try {
    for (let round = 1; round <= config.rounds; round++) {
      const runs = round % 2 === 0 ? [...CLUSTER_RUNS].reverse() : CLUSTER_RUNS;
      for (const run of runs) {
        const job: ClusterJob = {
          ...run,
          nodes: run.topology === 'cluster' ? cluster.nodes : [{ host: '127.0.0.1', port: single.port }],
          prefix: `${config.runId}-c${round}-${run.side}-${run.topology}`,
          tasks: config.drainTasks,
          chunk: config.chunk,
          concurrency: config.concurrency,
          partitions: CLUSTER_PARTITIONS,
          round,
        };
        if (run.side === 'sq' && run.topology === 'cluster') {
          await placePartitionsEvenly(cluster, job.prefix, 'default', CLUSTER_PARTITIONS);
        }
        const script = join(__dirname, 'cluster-child.ts');
        const result = await runChild<ClusterChildMessage>(script, 'BENCH_CLUSTER_JOB', job, config.childTimeoutMs);
        const tag = `round ${round} ${CLUSTER_SCENARIO} ${`${run.side} on ${run.topology}`.padEnd(20)}`;
        if (result.ok) {
          measurements.push(result.measurement);
          console.log(`${tag} ${describeRun(result.measurement)}`);
        } else {
          failures.push({ run, round, error: result.error });
          console.log(`${tag} FAILED: ${result.error.split('\n')[0]}`);
        }
      }
    }
  } finally {
    await Promise.all([cluster.stop(), single.stop()]);
  }
  return { measurements, failures };
}

/** The drain rate of a measurement, tasks per second. */
export function drainRate(m: ClusterMeasurement): number {
  return (m.job.tasks / m.elapsedMs) * 1000;
}

/** A figure of every master added up (Redis CPU, commands) over a run. */
export function sumOverMasters(m: ClusterMeasurement, figure: (master: MasterUsage) => number): number {
  return m.masters.reduce((sum, master) => sum + figure(master), 0);
}

/** Each master's share of the Redis CPU the run used. */
export function cpuShares(m: ClusterMeasurement): number[] {
  const total = sumOverMasters(m, (master) => master.cpuMs);
  return m.masters.map((master) => (total > 0 ? master.cpuMs / total : 0));
}

function describeRun(m: ClusterMeasurement): string {
  const total = sumOverMasters(m, (master) => master.cpuMs);
  const shares = cpuShares(m).map((s) => `${Math.round(s * 100)}%`);
  return (
    `${m.job.tasks} tasks in ${(m.elapsedMs / 1000).toFixed(2)} s = ${Math.round(drainRate(m)).toLocaleString('en-US')}/s` +
    ` · Redis CPU ${((total * 1000) / m.job.tasks).toFixed(1)} µs/task, per master ${shares.join(' / ')}` +
    ` · ${(sumOverMasters(m, (master) => master.commands) / m.job.tasks).toFixed(2)} cmds/task`
  );
}
