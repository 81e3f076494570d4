import { KeyConflictError } from '../../lib';
import { Latch, sleep } from '../utils/helpers';
import { waitFor } from '../utils/redis';
import { useGenerationApps } from './generation-apps';

/**
 * Review finding 2: replace() on a runtime schedule's key ends the chain (README), but its one-off
 * run kept the schedule's markers (rt, sig) in the key state, so schedule() with the schedule's
 * own arguments took that run for the live chain: it answered `created: false` and nothing ever
 * fired again. Now replace() drops the schedule, and schedule() takes a live run for the chain
 * only when it is a periodic run of it: the one-off holds the key (KeyConflictError, nothing
 * written) until it settles, and unschedule() leaves it alone.
 */
describe('schedule() and unschedule() while a replace() of the schedule key is live', () => {
  const gen = useGenerationApps();
  const { redis, start } = gen;
  const opts = { key: 'rem:1', every: 200 };

  /** A schedule that fired twice, then its replace(): resolves once the one-off run is running. */
  async function replacedWhileRunning() {
    const app = await start();
    const c = app.client;
    const oneOffRunning = new Latch();
    const oneOffMayEnd = new Latch();
    gen.probe.on('keyed', async (payload, ctx) => {
      if ((payload as { once?: boolean }).once !== undefined) {
        oneOffRunning.open();
        await oneOffMayEnd.wait();
      }
      return ctx.generation;
    });
    expect((await c.schedule('keyed', { u: 1 }, opts)).created).toBe(true);
    await waitFor(() => gen.probe.runsOf('keyed').length >= 2, { description: '2 scheduled runs' });
    const markers = await redis.hmget(app.keys.keyState(opts.key), 'rt', 'sig');
    const once = await c.replace('keyed', { u: 1, once: true }, { key: opts.key });
    await oneOffRunning.wait();
    return { app, c, once, oneOffMayEnd, markers };
  }

  it('schedule() during the one-off run is refused; once it settled, the schedule fires again', async () => {
    const { c, once, oneOffMayEnd } = await replacedWhileRunning();
    await expect(c.schedule('keyed', { u: 1 }, opts)).rejects.toBeInstanceOf(KeyConflictError);
    oneOffMayEnd.open();
    await expect(once.result({ timeoutMs: 5_000 })).resolves.toBe(once.generation);
    expect((await c.schedules({ queue: 'default' })).items).toEqual([]); // the replace ended it

    expect((await c.schedule('keyed', { u: 1 }, opts)).created).toBe(true);
    const runsBefore = gen.probe.runsOf('keyed').length;
    await sleep(1_500); // 7 slots of 200 ms
    expect(gen.probe.runsOf('keyed').length - runsBefore).toBeGreaterThanOrEqual(4);
  });

  it('a one-off run under markers an earlier version left is not taken for the chain either', async () => {
    const { app, c, once, oneOffMayEnd, markers } = await replacedWhileRunning();
    const [rt, sig] = markers as [string, string];
    await redis.hset(app.keys.keyState(opts.key), 'rt', rt, 'sig', sig); // as replace() left them before
    await expect(c.schedule('keyed', { u: 1 }, opts)).rejects.toBeInstanceOf(KeyConflictError);
    oneOffMayEnd.open();
    await expect(once.result({ timeoutMs: 5_000 })).resolves.toBe(once.generation);
  });

  it('unschedule() during the one-off run answers false and leaves that run alone', async () => {
    const { app, c, once, oneOffMayEnd } = await replacedWhileRunning();
    expect(await c.unschedule(opts.key)).toBe(false);
    oneOffMayEnd.open();
    await expect(once.result({ timeoutMs: 5_000 })).resolves.toBe(once.generation);
    expect(await redis.hget(app.keys.keyState(opts.key), 'state')).toBe('completed');
  });
});
