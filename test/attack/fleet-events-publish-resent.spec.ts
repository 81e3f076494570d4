import type { Subscription } from 'rxjs';
import type { FleetEvent } from '../../lib';
import { useProbeApps } from '../fixtures/probe-apps';
import { replyCuttingProxy, type ReplyCuttingProxy } from '../fixtures/reply-cutting-proxy';
import { startApp } from '../fixtures/test-app';
import { watchedEvents } from '../fixtures/watched-events';
import { Latch } from '../utils/latch';
import { redisUrl, waitFor } from '../utils/redis';

/**
 * Review finding: a worker publishes its events with a PUBLISH on its command connection. When
 * that connection drops after Redis ran the PUBLISH but before its reply came, ioredis resends
 * it on the next connection (autoResendUnfulfilledCommands), and every `events()` subscriber
 * got the same events twice: one run, two `completed` events.
 */
describe("attack: a worker's events PUBLISH resent after its reply was lost", () => {
  const env = useProbeApps();
  let proxy: ReplyCuttingProxy;
  let subscription: Subscription | undefined;

  beforeEach(async () => {
    proxy = await replyCuttingProxy(redisUrl());
  });
  afterEach(async () => {
    subscription?.unsubscribe();
    subscription = undefined;
    await proxy.close();
  });

  it('delivers each event once', async () => {
    const gate = new Latch();
    env.probe.on('echo', async (payload) => {
      if (payload === 'block') await gate.wait();
      return payload;
    });
    const worker = await startApp({
      prefix: env.prefix,
      probe: env.probe,
      options: { connection: { url: proxy.url } },
    });
    // Another process watches, straight on Redis: only the worker's connection is cut.
    const watcher = await startApp({ prefix: env.prefix, options: { worker: false } });
    const events: FleetEvent[] = [];
    subscription = await watchedEvents(watcher.client, events);

    const handle = await worker.client.enqueue('echo', 'block');
    await waitFor(() => env.probe.runs.some((r) => r.payload === 'block'), { description: "'block' running" });
    // The PUBLISH that carries the run's events reaches Redis; its reply is lost with the connection.
    const cut = proxy.cutReplyTo(`"taskId":"${handle.id}"`);
    gate.open();
    await cut;
    const ofRun = () => events.filter((e) => e.taskId === handle.id);
    await waitFor(() => ofRun().length > 0, { description: "the run's event" });
    // The worker reconnects (and would resend) well within this.
    await waitFor(async () => (await (await worker.client.enqueue('echo', 'after')).result()) === 'after', {
      timeoutMs: 10_000,
      description: 'the worker runs tasks again',
    });
    await new Promise((r) => setTimeout(r, 500));

    expect(ofRun().map((e) => e.type)).toEqual(['completed']);
  }, 30_000);
});
