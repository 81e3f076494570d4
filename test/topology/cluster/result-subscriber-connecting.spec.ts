import { within } from '../../fixtures/hostile-tasks';
import { useProxiedCluster } from '../../fixtures/proxied-cluster';
import { startApp } from '../../fixtures/test-app';
import { randomPrefix, waitFor } from '../../utils/redis';

/*
 * The first result() of a process makes its results subscriber, on a cluster a cluster client of
 * its own: it asks a node for the slots, then connects its subscriber connection, then
 * SUBSCRIBEs, and only then reads the task's state. While those new connections were slow to be
 * accepted, the deadline won against a task settled all along, though the command connection
 * answered (see test/attack/result-subscriber-not-listening.spec.ts for one node).
 */
describe('result() on a cluster, its subscriber still connecting', () => {
  const env = useProxiedCluster();

  it('answers a task completed before the wait', async () => {
    const prefix = randomPrefix();
    const producer = await startApp({ prefix, options: env.behindProxies({ worker: false }) });
    const worker = await startApp({ prefix, options: env.straight() });
    const handle = await producer.client.enqueue('echo', 'done before');
    await waitFor(() => worker.events.counters().completed === 1, { description: 'completed' });
    for (const node of env.cluster.nodes) env.proxies.of(node.port).delayNew(3_000);
    try {
      const result = handle.result({ timeoutMs: 500 }).catch((error: unknown) => error);
      expect(await within(result, 5_000, 'result()')).toBe('done before');
    } finally {
      for (const node of env.cluster.nodes) env.proxies.of(node.port).delayNew(0);
    }
  }, 60_000);
});
