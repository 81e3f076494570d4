import { ConsumerHost } from '../../lib/consumer/consumer.host';
import type { PauseWatch } from '../../lib/consumer/pause-watch';
import { defineScripts } from '../../lib/redis/scripts';
import { pauseScript } from '../../lib/scripts/pause.script';
import { useProbeApps } from '../fixtures/probe-apps';
import { runQueuedBehind } from '../fixtures/run-queued-behind';
import { startApp } from '../fixtures/test-app';
import { Latch, sleep } from '../utils/helpers';
import { createRedis, waitFor } from '../utils/redis';

const HEARTBEAT_MS = 200;

/*
 * Review finding: a delivery held by a pause (PauseGate.beforeRun) waited for the gate to open
 * once, and then went to its runner without looking at the gate again. A resume() and a pause()
 * whose notices reach the worker together (one read of the control connection: two callers at
 * once, or a worker whose event loop was busy while both came) open the gate and shut it again
 * in one turn, before the held delivery's wait resumes: it started while the queue was paused,
 * and the pause held it no more.
 */
describe('attack: a resume and a pause heard together by a worker holding a run', () => {
  const env = useProbeApps();

  it('the held run does not start until the queue is resumed for good', async () => {
    const firstMayEnd = new Latch();
    env.probe.on('once', async (payload) => {
      if (payload === 'first') await firstMayEnd.wait();
      return payload;
    });
    const options = { heartbeatIntervalMs: HEARTBEAT_MS };
    const producer = await startApp({ prefix: env.prefix, probe: env.probe, options: { worker: false } });
    const { worker, first, next } = await runQueuedBehind(env, producer, { options }, () =>
      producer.client.enqueue('once', 'next'),
    );
    await producer.client.pause('default');
    const { pauseWatch } = worker.app.get(ConsumerHost) as unknown as { pauseWatch: PauseWatch };
    const gate = pauseWatch.gate('default');
    await waitFor(() => gate.isPaused, { description: 'the worker heard the pause' });
    firstMayEnd.open();
    await first.result({ timeoutMs: 5_000 });
    await waitFor(() => gate.heldCount === 1, { description: 'the next run held by the pause' });

    // A resume() and a pause() of partition 0 in one Redis turn: their notices come in one read.
    const caller = createRedis();
    defineScripts(caller);
    try {
      const tx = caller.multi();
      pauseScript(producer.keys, { paused: false, version: 0 }).queueOn(tx);
      pauseScript(producer.keys, { paused: true, version: 0 }).queueOn(tx);
      await tx.exec();
    } finally {
      caller.disconnect();
    }
    expect(await producer.client.isPaused('default')).toBe(true);
    await sleep(3 * HEARTBEAT_MS);
    expect(env.probe.runs.map((r) => r.payload)).toEqual(['first']);
    expect(gate.heldCount).toBe(1);

    await producer.client.resume('default');
    await expect(next.result({ timeoutMs: 5_000 })).resolves.toBe('next');
  }, 30_000);
});
