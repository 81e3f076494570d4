import { Cluster, Redis } from 'ioredis';
import type { ConnectionOptions, StreamQueueModuleOptions } from '../../lib';
import { CLUSTER_NODES_ENV } from './test-topology';

/** A required environment variable of a worker process (or its fallback). */
export function env(name: string, fallback?: string): string {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is required`);
  return value;
}

/**
 * Module options of a spec's or the chaos suite's worker process, from its environment:
 * REDIS_URL, SQ_PREFIX, CONCURRENCY, LEASE_MS, HEARTBEAT_MS, SWEEP_MS, MAX_STALL_MS,
 * MAX_DELIVERIES, PARTITIONS (of queue 'default'); short reads and a short shutdown so kills and
 * restarts show quickly.
 */
export function workerOptionsFromEnv(defaults: {
  concurrency: number;
  heartbeatMs: number;
  maxStallMs: number;
}): StreamQueueModuleOptions {
  return {
    connection: connectionFromEnv(),
    prefix: env('SQ_PREFIX'),
    concurrency: Number(env('CONCURRENCY', String(defaults.concurrency))),
    leaseMs: Number(env('LEASE_MS', '1000')),
    heartbeatIntervalMs: Number(env('HEARTBEAT_MS', String(defaults.heartbeatMs))),
    sweepIntervalMs: Number(env('SWEEP_MS', '200')),
    maxStallMs: Number(env('MAX_STALL_MS', String(defaults.maxStallMs))),
    maxDeliveries: Number(env('MAX_DELIVERIES', '5')),
    blockMs: 200,
    shutdownTimeoutMs: 2_000,
    ...(process.env.PARTITIONS ? { queues: { default: { partitions: Number(process.env.PARTITIONS) } } } : {}),
  };
}

/** The worker's `connection`: the test cluster's nodes when the suite runs on one, else REDIS_URL. */
export function connectionFromEnv(): ConnectionOptions {
  const nodes = process.env[CLUSTER_NODES_ENV];
  return nodes
    ? { cluster: { nodes: JSON.parse(nodes) as { host: string; port: number }[] } }
    : { url: env('REDIS_URL') };
}

/** A plain client of the same Redis (a Cluster client on a cluster), for a worker's own records. */
export function redisFromEnv(): Redis {
  const nodes = process.env[CLUSTER_NODES_ENV];
  return nodes
    ? (new Cluster(JSON.parse(nodes) as { host: string; port: number }[]) as unknown as Redis)
    : new Redis(env('REDIS_URL'));
}
