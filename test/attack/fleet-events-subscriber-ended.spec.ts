import type { Redis } from 'ioredis';
import type { Socket } from 'node:net';
import type { FleetEvent } from '../../lib';
import { RedisConnections } from '../../lib/redis/redis-connections';
import { usePrivateRedisApps } from '../fixtures/private-redis-apps';
import { startApp, type TestApp } from '../fixtures/test-app';
import { watchedEvents } from '../fixtures/watched-events';
import { subscriberCount, waitFor } from '../utils/redis';

/** The connection an events() subscription of `app` listens on (the only one opened for 'events'). */
function eventsConnectionOf(app: TestApp): Redis {
  const purposes = (app.app.get(RedisConnections) as unknown as { purposes: Map<Redis, { purpose: string }> }).purposes;
  const found = [...purposes].filter(([, { purpose }]) => purpose === 'events').map(([redis]) => redis);
  expect(found).toHaveLength(1);
  return found[0];
}

/*
 * With a retryStrategy that gives up (an ioredis pattern), an events() subscription's connection
 * ended for good when it was cut while new connections were refused for a few attempts, the
 * command connection living on. Nothing made it again, and nothing told the subscriber: the
 * Observable stayed open and heard no event again, for the process's life (as the results
 * subscriber and the blocking reads did before they were made again).
 */
describe('events(): a subscription whose connection ended for good', () => {
  const env = usePrivateRedisApps({ proxy: true });
  const gaveUp = { retryStrategy: (times: number) => (times > 2 ? null : 50) };

  it('listens again on a new connection while the command connection lives', async () => {
    const watcher = await startApp({
      prefix: env.prefix,
      probe: env.probe,
      options: { worker: false, connection: { url: env.proxy.url, options: gaveUp } },
    });
    await startApp({ prefix: env.prefix, probe: env.probe, options: { connection: { url: env.server.url } } });
    const events: FleetEvent[] = [];
    const subscription = await watchedEvents(watcher.client, events);
    try {
      const connection = eventsConnectionOf(watcher);
      const accept = env.proxy.refuseNewConnections();
      env.proxy.cutClient((connection.stream as Socket).localPort!);
      await waitFor(() => connection.status === 'end', { description: 'the events connection ended for good' });
      await accept();
      expect(watcher.app.get(RedisConnections).commands.status).toBe('ready');
      await waitFor(async () => (await subscriberCount(env.admin, watcher.keys.eventsChannel)) === 1, {
        timeoutMs: 5_000,
        description: 'subscribed again',
      });
      const handle = await watcher.client.enqueue('echo', 'after');
      await handle.result();
      await waitFor(() => events.some((e) => e.type === 'completed' && e.taskId === handle.id), {
        timeoutMs: 5_000,
        description: 'the completion heard',
      });
    } finally {
      subscription.unsubscribe();
    }
  });
  it('errors once the command connection ended for good too: nothing can come back', async () => {
    const watcher = await startApp({
      prefix: env.prefix,
      probe: env.probe,
      options: { worker: false, connection: { url: env.proxy.url, options: gaveUp } },
    });
    await startApp({ prefix: env.prefix, probe: env.probe, options: { connection: { url: env.server.url } } });
    let failed: unknown;
    const errored = new Promise<void>((resolve) => {
      watcher.client
        .events()
        .subscribe({ next: () => undefined, error: (error: unknown) => ((failed = error), resolve()) });
    });
    await waitFor(async () => (await subscriberCount(env.admin, watcher.keys.eventsChannel)) === 1, {
      description: 'subscribed',
    });
    const commands = watcher.app.get(RedisConnections).commands;
    const connection = eventsConnectionOf(watcher);
    env.proxy.refuseNewConnections();
    env.proxy.cutClient((commands.stream as Socket).localPort!);
    await waitFor(() => commands.status === 'end', { description: 'the command connection ended for good' });
    env.proxy.cutClient((connection.stream as Socket).localPort!);
    await errored;
    expect(String(failed)).toMatch(/ended for good/);
  });
});
