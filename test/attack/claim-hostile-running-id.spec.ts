import { useProbeApps } from '../fixtures/probe-apps';
import { startApp } from '../fixtures/test-app';

/*
 * Review finding (found attacking the fix that stopped counting unstarted runs towards
 * maxDeliveries): a key state whose `rmid` is not a stream entry id (anyone with Redis access can
 * write the state) made claim.lua fail with "Invalid stream ID" on its XPENDING, for the whole
 * batch, at every recovery. Its deliveries were counted until the run (and its batchmates) was
 * dead-lettered as poison without a run; once a failed admission gives its delivery back, it
 * would have been retried for ever. Such an rmid names no delivery: the run claims and runs.
 */
describe('attack: a key state whose running entry id is not one', () => {
  const env = useProbeApps();

  for (const rmid of ['garbage', '1-2-3', '18446744073709551616-0', '']) {
    it(`rmid ${JSON.stringify(rmid)}: the run claims and runs (maxDeliveries 2)`, async () => {
      const producer = await startApp({ prefix: env.prefix, options: { worker: false } });
      const handle = await producer.client.enqueue('echo', 'ran', { key: 'k' });
      await env.redis.hset(producer.keys.keyState('k'), 'rmid', rmid);
      const worker = await startApp({ prefix: env.prefix, options: { maxDeliveries: 2 } });
      await expect(handle.result({ timeoutMs: 5_000 })).resolves.toBe('ran');
      expect(worker.probe.runs).toHaveLength(1);
      expect(await env.redis.xlen(producer.keys.deadLetter)).toBe(0);
    }, 20_000);
  }
});
