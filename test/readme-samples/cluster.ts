// README.md, "Redis Cluster, Sentinel and key layout": the regions below are that section's
// samples, kept compiled (npm run typecheck) and identical to the README
// (test/unit/readme-samples.spec.ts, and CI's node tools/check-doc-samples.js --marked README.md).
// The parameters stand for an app's values.
import { Cluster, type ClusterNode, type ClusterOptions } from 'ioredis';
import { StreamQueueModule, type QueueClient } from 'nest-stream-queue';

export function connections(password: string, nodes: ClusterNode[], options: ClusterOptions) {
  // #region cluster-connection
  StreamQueueModule.forRoot({ connection: { url: 'redis://localhost:6379' } }); // one Redis
  StreamQueueModule.forRoot({
    connection: { cluster: { nodes: [{ host: '10.0.0.1', port: 6379 }], options: { redisOptions: { password } } } },
  });
  StreamQueueModule.forRoot({ connection: new Cluster(nodes, options) }); // your own client, reused
  StreamQueueModule.forRoot({ connection: { sentinels: [{ host: 's1', port: 26379 }], name: 'mymaster' } });
  // #endregion
}

export async function durableEnqueue(client: QueueClient, payload: { invoiceId: string }) {
  // #region cluster-durability
  await client.enqueue('send-invoice', payload, { durability: { replicas: 1, timeoutMs: 1000 } });
  // #endregion
}
