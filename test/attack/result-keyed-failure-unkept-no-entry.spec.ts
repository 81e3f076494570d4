import { TaskFailedError } from '../../lib';
import { Latch } from '../utils/latch';
import { Probe } from '../fixtures/probe';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, subscriberCount, waitFor } from '../utils/redis';

/*
 * Attack on "with resultTtlMs 0 a result() waiting when the task settles still rejects
 * (TaskFailedError without the handler's message)". A keyed task's failure token is read with its
 * state (it may have been redriven since: mayRunAgain). With nothing kept, that state read found
 * no stored result, no key state (it goes as the run settles), and, for a handle that does not
 * know its stream entry (a delayed task's; an enqueue that returned the key's live run), no
 * entry to read: pending. The failure the token told was dropped, and result() waited out its
 * timeout (for good without one) for a run that had ended. Now a state that tells nothing leaves
 * the token's failure standing, as a gone entry does.
 */
describe('result(): a keyed failure with nothing kept, for a handle without its entry id', () => {
  const redis = createRedis();
  let prefix: string;
  let probe: Probe;

  beforeEach(() => {
    prefix = randomPrefix();
    probe = new Probe();
  });
  afterEach(async () => {
    await closeApps();
    await cleanupPrefix(redis, prefix);
  });
  afterAll(closeAll);

  const app = () => startApp({ prefix, probe, options: { resultTtlMs: 0 } });

  /** 'once' fails when `go` opens. */
  function failsOn(go: Latch) {
    probe.on('once', async () => {
      await go.wait();
      throw new Error('fails for good');
    });
  }

  async function expectFailureHeard(worker: TestApp, go: Latch, handle: { result(o: object): Promise<unknown> }) {
    const result = handle.result({ timeoutMs: 3_000 }).catch((error: unknown) => error);
    await waitFor(async () => (await subscriberCount(redis, worker.keys.doneChannel)) === 1, {
      description: 'result() subscribed',
    });
    go.open();
    expect(await result).toBeInstanceOf(TaskFailedError);
  }

  it('a delayed keyed task', async () => {
    const go = new Latch();
    failsOn(go);
    const worker = await app();
    const handle = await worker.client.enqueue('once', 'x', { key: 'delayed-key', delayMs: 1 });
    expect(handle.entryId).toBeUndefined();
    await waitFor(() => probe.runsOf('once').length === 1, { description: 'the run started' });
    await expectFailureHeard(worker, go, handle);
  });

  it("the handle an enqueue returned for the key's live run", async () => {
    const go = new Latch();
    failsOn(go);
    const worker = await app();
    await worker.client.enqueue('once', 'x', { key: 'live-key' });
    await waitFor(() => probe.runsOf('once').length === 1, { description: 'the run started' });
    const existing = await worker.client.enqueue('once', 'y', { key: 'live-key' });
    expect(existing.created).toBe(false);
    await expectFailureHeard(worker, go, existing);
  });
});
