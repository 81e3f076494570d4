import { Injectable, Module } from '@nestjs/common';
import { Task } from '../../lib';
import { useProbeApps } from '../fixtures/probe-apps';
import { runQueuedBehind } from '../fixtures/run-queued-behind';
import { startApp } from '../fixtures/test-app';
import { Latch } from '../utils/helpers';
import { waitFor } from '../utils/redis';
import { ConsumerHost } from '../../lib/consumer/consumer.host';
import type { PauseWatch } from '../../lib/consumer/pause-watch';

const ran: unknown[] = [];

@Injectable()
class HourlyRatedTasks {
  @Task('attack.hourly-rated', { rateLimit: { max: 1, perMs: 3_600_000 } })
  run(payload: unknown) {
    ran.push(payload);
    return payload;
  }
}

@Module({ providers: [HourlyRatedTasks] })
class HourlyRatedModule {}

/*
 * Review finding: a rate-limited run's start is counted by its claim, before its handler (held by
 * a pause, or queued behind a busy handler). A worker that shut down with such a run held gave
 * its delivery back, but its counted start stayed in the window: the run, taken over by the next
 * worker, needed a token of its own, and with one start an hour it waited the hour, though no
 * run of the task had started in it.
 */
describe('attack: app.close() with a rate-limited run claimed and held by a pause', () => {
  const env = useProbeApps();
  beforeEach(() => (ran.length = 0));

  it('gives its counted start back: the next worker starts it at once', async () => {
    const firstMayEnd = new Latch();
    env.probe.on('once', async (payload) => {
      await firstMayEnd.wait();
      return payload;
    });
    const imports = [HourlyRatedModule];
    const producer = await startApp({ prefix: env.prefix, probe: env.probe, imports, options: { worker: false } });
    const { worker, first, next } = await runQueuedBehind(env, producer, { imports }, () =>
      producer.client.enqueue('attack.hourly-rated', 'rated'),
    );
    // Its start is counted (the claim answered); the pause then holds it before its handler.
    await producer.client.pause('default');
    const { pauseWatch } = worker.app.get(ConsumerHost) as unknown as { pauseWatch: PauseWatch };
    await waitFor(() => pauseWatch.gate('default').isPaused, { description: 'the worker heard the pause' });
    firstMayEnd.open();
    await first.result({ timeoutMs: 5_000 });
    await worker.close();
    expect(ran).toEqual([]);

    await startApp({ prefix: env.prefix, probe: env.probe, imports });
    await producer.client.resume('default');
    await expect(next.result({ timeoutMs: 5_000 })).resolves.toBe('rated');
  }, 30_000);
});
