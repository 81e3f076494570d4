import { Latch } from '../utils/helpers';
import { useGenerationApps } from '../generations/generation-apps';
import { waitFor } from '../utils/redis';

/**
 * A runtime schedule whose run was running when the queue's stream was purged (a DEL of the
 * stream): no consumer holds its delivery any more, so its settle finds nothing pending and writes
 * nothing, no successor comes, and its key state says 'running' for good. Runtime schedules have
 * no restore (they live in Redis alone): schedule() of the key again is how a user puts one back,
 * and it threw KeyConflictError, taking that run (its entry gone, so not a chain run) for one
 * enqueued under the key; the same schedule() was left alone the same way, had its entry stayed.
 */
describe('attack: schedule() of a key whose running run was purged with the stream', () => {
  const gen = useGenerationApps();
  const { redis, start } = gen;
  const key = 'purged-while-running';
  const runs = () => gen.probe.runsOf('keyed').length;

  it('puts the chain back, and it runs again', async () => {
    const app = await start();
    const gate = new Latch();
    gen.probe.on('keyed', () => gate.wait());
    await app.client.schedule('keyed', 'tick', { key, every: 200 });
    await waitFor(async () => (await redis.hget(app.keys.keyState(key), 'state')) === 'running', {
      description: 'its first run running',
    });
    await redis.del(app.keys.stream);
    // The worker reads again, which makes the group anew: nothing of the run is pending.
    await waitFor(async () => (await redis.exists(app.keys.stream)) === 1, { description: 'the group made again' });
    const from = runs();

    // Its handler still runs (a worker that died with it would never settle it): schedule() puts
    // the chain back and tells that handler it is superseded. Released only then, its settle, had
    // it come first, would have scheduled the successor itself (its key state records it running
    // here), leaving schedule() nothing to do.
    const again = await app.client.schedule('keyed', 'tick', { key, every: 200 });
    expect(again.created).toBe(true);
    gate.open();
    await waitFor(() => runs() >= from + 2, { description: 'two runs after the purge' });
  });
});
