import * as net from 'node:net';
import type { Redis } from 'ioredis';
import type { Subscription } from 'rxjs';
import type { FleetEvent } from '../../lib';
import { RedisConnections } from '../../lib/redis/redis-connections';
import { Latch } from '../utils/latch';
import { closeApps, startApp } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, redisUrl, waitFor } from '../utils/redis';

/** A TCP proxy to the suite's Redis that can be cut (open connections dropped, new ones refused) and restored. */
async function cuttableProxy(): Promise<{ url: string; cut(): void; restore(): void; close(): Promise<void> }> {
  const { hostname, port } = new URL(redisUrl());
  const sockets = new Set<net.Socket>();
  let open = true;
  const server = net.createServer((client) => {
    if (!open) return client.destroy();
    const upstream = net.connect(Number(port || 6379), hostname || '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket) && [client, upstream].forEach((s) => s.destroy()));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `redis://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    cut: () => {
      open = false;
      for (const socket of sockets) socket.destroy();
    },
    restore: () => void (open = true),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * The contract: events published while a subscriber reconnects are lost, and the subscription
 * lives on. A subscription made while Redis was away errored instead, once ioredis gave up on its
 * queued SUBSCRIBE (maxRetriesPerRequest): the Observable ended for good, and a subscriber
 * without an error callback (the dashboard's charts) threw it as an uncaught exception. The
 * SUBSCRIBE is sent again when the connection is back.
 */
describe('attack: events() subscribed while Redis is away', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  let subscription: Subscription | undefined;
  let proxy: Awaited<ReturnType<typeof cuttableProxy>>;
  afterAll(async () => {
    subscription?.unsubscribe();
    await closeApps();
    await proxy.close();
    await cleanupPrefix(redis, prefix);
    await closeAll();
  });

  it('delivers the events once Redis is back, and never errors', async () => {
    proxy = await cuttableProxy();
    const worker = await startApp({ prefix });
    const watcher = await startApp({
      prefix,
      options: { worker: false, connection: { url: proxy.url, options: { maxRetriesPerRequest: 1 } } },
    });
    // The subscriber's connection: its first SUBSCRIBE settles (ioredis gives up on it after its
    // first failed reconnect, maxRetriesPerRequest 1) before Redis is back.
    const commands = watcher.app.get(RedisConnections).commands;
    const firstSettled = new Latch();
    const duplicate = commands.duplicate.bind(commands);
    jest.spyOn(commands, 'duplicate').mockImplementationOnce((...args) => {
      const connection = duplicate(...args);
      const subscribe = connection.subscribe.bind(connection) as (...channels: string[]) => Promise<unknown>;
      let calls = 0;
      (connection as { subscribe: unknown }).subscribe = (...channels: string[]) => {
        const reply = subscribe(...channels);
        if (++calls === 1)
          reply.then(
            () => firstSettled.open(),
            () => firstSettled.open(),
          );
        return reply;
      };
      return connection as Redis;
    });
    proxy.cut();
    const received: FleetEvent[] = [];
    const errors: unknown[] = [];
    subscription = watcher.client
      .events()
      .subscribe({ next: (e) => received.push(e), error: (e: unknown) => errors.push(e) });
    await firstSettled.wait();
    proxy.restore();
    await waitFor(async () => (await redis.exists(worker.keys.eventsWatch)) === 1 || errors.length > 0, {
      timeoutMs: 10_000,
      description: 'the watch, once Redis is back (or an error)',
    });
    const handle = await worker.client.enqueue('echo', 'after the outage');
    await handle.result();
    await waitFor(() => received.some((e) => e.taskId === handle.id) || errors.length > 0, {
      description: 'the completed event (or an error)',
    });
    expect(errors).toEqual([]);
  });

  it('subscribes on a connection without an offline queue once it is ready (its SUBSCRIBE was refused at once)', async () => {
    const worker = await startApp({ prefix });
    const watcher = await startApp({
      prefix,
      options: { worker: false, connection: { url: redisUrl(), options: { enableOfflineQueue: false } } },
    });
    const received: FleetEvent[] = [];
    const errors: unknown[] = [];
    const offline = watcher.client
      .events()
      .subscribe({ next: (e) => received.push(e), error: (e: unknown) => errors.push(e) });
    try {
      await waitFor(
        async () => {
          await (await worker.client.enqueue('echo', 'probe')).result();
          return received.some((e) => e.type === 'completed') || errors.length > 0;
        },
        { description: 'an event (or an error)' },
      );
      expect(errors.map(String)).toEqual([]);
    } finally {
      offline.unsubscribe();
    }
  });
});
