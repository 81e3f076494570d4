/**
 * The cluster section of the benchmark report: drain rate per configuration, the ratio of the
 * cluster to one Redis, and how the Redis CPU spread over the masters, against the targets of
 * the cluster issue (each master at most 40% of the run's Redis CPU; the cluster at least 0.8x
 * one Redis).
 */
import type { ClusterMeasurement, MasterUsage } from './cluster-child';
import {
  sumOverMasters,
  CLUSTER_MASTERS,
  CLUSTER_PARTITIONS,
  CLUSTER_RUNS,
  cpuShares,
  drainRate,
  type ClusterFailure,
  type ClusterRun,
} from './cluster-scenarios';
import { median, spread } from './stats';

const MAX_MASTER_SHARE = 0.4;
const MIN_CLUSTER_RATIO = 0.8;

const label = (run: ClusterRun) =>
  `${run.side === 'sq' ? `nest-stream-queue, ${CLUSTER_PARTITIONS} partitions` : 'BullMQ (one slot)'} on ${
    run.topology === 'cluster' ? `a ${CLUSTER_MASTERS}-master cluster` : 'one Redis'
  }`;

const int = (v: number) => Math.round(v).toLocaleString('en-US');
const pct = (v: number) => `${Math.round(v * 100)}%`;

export function renderClusterReport(measurements: ClusterMeasurement[], failures: ClusterFailure[]): string {
  const runsOf = (run: ClusterRun) =>
    measurements.filter((m) => m.job.side === run.side && m.job.topology === run.topology);
  const rate = (run: ClusterRun) => {
    const runs = runsOf(run);
    return runs.length ? median(runs.map(drainRate)) : undefined;
  };
  const lines = [
    '## Cluster',
    '',
    `The drain of ${int(measurements[0]?.job.tasks ?? 0)} no-op tasks of one logical queue, concurrency ` +
      `${measurements[0]?.job.concurrency ?? '?'}, one worker process. The cluster has ${CLUSTER_MASTERS} masters ` +
      'and no replicas; "one Redis" is a server started the same way. Redis CPU is used_cpu_user + used_cpu_sys ' +
      'of each master (INFO cpu) over the drain. Before each cluster run the 6 partition slots are placed 2 per ' +
      'master with CLUSTER SETSLOT, as docs/scaling.md tells an operator to (a slot follows the hash of the ' +
      "partition's name, so left alone 6 partitions land 2/2/2 about one time in eight).",
    '',
    '| configuration | drain, tasks/s (median, min-max) | Redis CPU, µs/task: drain | enqueue | busiest master | masters |',
    '|---|---|---|---|---|---|',
  ];
  for (const run of CLUSTER_RUNS) {
    const runs = runsOf(run);
    if (runs.length === 0) {
      lines.push(`| ${label(run)} | failed | | | | |`);
      continue;
    }
    const s = spread(runs.map(drainRate));
    const perTask = (ms: (m: MasterUsage) => number) =>
      median(runs.map((m) => (sumOverMasters(m, ms) * 1000) / m.job.tasks)).toFixed(1);
    const busiest = median(runs.map((m) => Math.max(...cpuShares(m))));
    const shares = cpuShares(runs[runs.length - 1])
      .map(pct)
      .join(' / ');
    lines.push(
      `| ${label(run)} | ${int(median(runs.map(drainRate)))} (${int(s.min)}-${int(s.max)}) | ` +
        `${perTask((m) => m.cpuMs)} | ${perTask((m) => m.enqueueCpuMs)} | ` +
        `${pct(busiest)} | ${shares} (last round) |`,
    );
  }
  const [sqCluster, sqSingle, bullCluster] = CLUSTER_RUNS.map(rate);
  const busiest = runsOf(CLUSTER_RUNS[0]).map((m) => Math.max(...cpuShares(m)));
  lines.push('');
  if (sqCluster !== undefined && sqSingle !== undefined) {
    const ratio = sqCluster / sqSingle;
    lines.push(
      `- Cluster vs one Redis: **${ratio.toFixed(2)}x** (target at least ${MIN_CLUSTER_RATIO}x: ` +
        `${ratio >= MIN_CLUSTER_RATIO ? 'met' : 'NOT met'}).`,
    );
  }
  if (busiest.length > 0) {
    const worst = Math.max(...busiest);
    lines.push(
      `- Busiest master's share of the cluster run's Redis CPU: at most **${pct(worst)}** over the rounds ` +
        `(target at most ${pct(MAX_MASTER_SHARE)}: ${worst <= MAX_MASTER_SHARE ? 'met' : 'NOT met'}).`,
    );
  }
  if (sqCluster !== undefined && bullCluster !== undefined) {
    lines.push(`- nest-stream-queue vs BullMQ on the same cluster: **${(sqCluster / bullCluster).toFixed(2)}x**.`);
  }
  for (const f of failures) lines.push(`- FAILED: ${label(f.run)}, round ${f.round}: ${f.error.split('\n')[0]}`);
  return `${lines.join('\n')}\n`;
}
