import { TaskSupersededError } from '../../lib';
import { ReplyHoldingProxy } from '../fixtures/reply-holding-proxy';
import { closeApps, startApp } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, waitFor } from '../utils/redis';

/**
 * Mutation audit: a worker's completion sends its run's generation to complete.lua, which finds
 * a run of an older generation than its key's stale (skips it, tells `s:<id>`). Sent as 0 (never
 * stale), no spec failed: a superseded run's handler is aborted by the replace notice, so its
 * settle is a failure (fail.lua, with its own generation). Here the handler has returned, ignoring
 * its signal, before replace() writes the next generation, and its completion reaches Redis only
 * after that: complete.lua must find it stale, store no result, and the old handle's result()
 * reject with TaskSupersededError.
 */
describe('attack: a superseded keyed run whose value was in before the replace', () => {
  const proxy = new ReplyHoldingProxy();
  const redis = createRedis();
  const prefix = randomPrefix();
  afterAll(async () => {
    proxy.releaseAll();
    await closeApps();
    await proxy.stop();
    await cleanupPrefix(redis, prefix);
    await closeAll();
  });

  it('its completion finds it stale: no result stored, result() rejects TaskSupersededError', async () => {
    const port = await proxy.start();
    const producer = await startApp({ prefix, options: { worker: false } });
    const worker = await startApp({ prefix, options: { connection: { url: `redis://127.0.0.1:${port}` } } });
    // Returns at once, its signal ignored: the value is in before anyone replaces the run.
    worker.probe.on('echo', () => 'old-value-returned');
    let replaced: Promise<unknown> | undefined;
    // The completion (it carries the value) reaches Redis only once replace() wrote generation 2.
    proxy.holdRepliesFrom(
      'old-value-returned',
      () => (replaced = producer.client.replace('echo', 'new', { key: 'k' })),
    );
    const old = await producer.client.enqueue('echo', 'old', { key: 'k' });
    await waitFor(() => replaced !== undefined, { description: 'the completion sent' });
    await replaced;
    proxy.releaseAll();

    await expect(old.result({ timeoutMs: 5_000 })).rejects.toBeInstanceOf(TaskSupersededError);
    expect(await redis.exists(producer.keys.result(old.id))).toBe(0);
  }, 15_000);
});
