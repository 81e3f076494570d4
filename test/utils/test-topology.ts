import type { ClusterNodeAddress } from './redis-cluster';

/**
 * Which Redis the suite runs against: one node (the default), or a real local cluster when
 * STREAM_QUEUE_TOPOLOGY=cluster (`npm run test:cluster`). The global setup starts that cluster
 * and exports its nodes as SQ_TEST_CLUSTER_NODES (JSON), inherited by spawned workers too.
 */
export type TestTopology = 'single' | 'cluster';

export const CLUSTER_NODES_ENV = 'SQ_TEST_CLUSTER_NODES';

export function testTopology(): TestTopology {
  const value = process.env.STREAM_QUEUE_TOPOLOGY ?? 'single';
  if (value !== 'single' && value !== 'cluster') {
    throw new Error(`STREAM_QUEUE_TOPOLOGY must be "single" or "cluster", not ${JSON.stringify(value)}`);
  }
  return value;
}

/** The running test cluster's nodes; throws outside a cluster run. */
export function testClusterNodes(): ClusterNodeAddress[] {
  const raw = process.env[CLUSTER_NODES_ENV];
  if (!raw) throw new Error(`${CLUSTER_NODES_ENV} is not set: run with STREAM_QUEUE_TOPOLOGY=cluster through Jest`);
  return JSON.parse(raw) as ClusterNodeAddress[];
}
