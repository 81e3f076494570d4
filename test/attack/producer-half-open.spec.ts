import { QueueClient } from '../../lib';
import { buildApp, within } from '../fixtures/hostile-tasks';
import { testOptions } from '../fixtures/test-app';
import { halfOpenSuite, workerBehind } from '../fixtures/worker-behind-proxy';

/*
 * Review finding: only a running worker watched its connections for replies (ConsumerHost). A
 * producer (`worker: false`, an API that only enqueues) whose command connection went half-open
 * (a NAT or load balancer that lost its state) waited on every enqueue until the OS gave up on
 * the socket, many minutes; and every process's results subscriber was unwatched, so a result()
 * waiting on it never heard the completion (with a timeout it timed out, without one it waited for
 * ever). Both are now watched as the worker's are: unanswered for a lease, made again.
 */
describe('attack: a producer whose connections go half-open', () => {
  const { proxy } = halfOpenSuite();

  it('enqueues again within about a lease on a new connection', async () => {
    const { app } = await workerBehind(proxy, { worker: false });
    const client = app.moduleRef.get(QueueClient);
    await client.enqueue('echo', 'before');

    proxy.blackholeExisting();
    const handle = await within(client.enqueue('echo', 'after'), 5_000, 'the enqueue on a half-open connection');
    expect(handle.id).toEqual(expect.any(String));
  }, 20_000);

  it('hears a result on a new subscriber when the old one went half-open', async () => {
    const { app, prefix } = await workerBehind(proxy, { worker: false });
    const client = app.moduleRef.get(QueueClient);
    // A result() wait opens the results subscriber; the task waits in the stream meanwhile.
    const first = await client.enqueue('echo', 'first');
    const waiting = first.result({ timeoutMs: 15_000 });
    await new Promise((r) => setTimeout(r, 300));

    proxy.blackholeExisting();
    // A worker straight on Redis runs it: its completion is published to a subscriber that
    // hears nothing any more.
    const worker = await buildApp(testOptions(prefix));
    await worker.init();
    await expect(within(waiting, 6_000, 'result() behind a half-open subscriber')).resolves.toBe('first');
  }, 30_000);
});
