import { createServer, type Server, type Socket } from 'node:net';
import type { Redis } from 'ioredis';
import { RedisUnreachableError } from '../../lib/errors';
import { RedisConnections } from '../../lib/redis/redis-connections';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { randomPrefix, waitFor } from '../utils/redis';
import { startRedisServer, type RedisServerHandle } from '../utils/redis-server';
import { outcomeWithin } from '../utils/outcome-within';

/** The documented default of `offlineTimeoutMs` (README, Configuration: When Redis goes away). */
const DEFAULT_BOUND_MS = 10_000;
/** Generous: timers on a loaded 2-core machine, the watch's granularity. */
const SLACK_MS = 4_000;

/** A port that accepts TCP and never says a word: Redis that never answers the ready check. */
async function silentServer(port: number): Promise<{ close(): Promise<void>; stopListening(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
  return {
    // The connections accepted stay open and silent; the port is free for a real Redis.
    // (close()'s callback waits for those connections too: not awaited, the port is freed at once).
    stopListening: async () => void server.close(),
    close: () =>
      new Promise<void>((resolve) => {
        sockets.forEach((socket) => socket.destroy());
        if (!server.listening) return resolve();
        server.close(() => resolve());
      }),
  };
}

/**
 * Redis goes away and the command connection reconnects, but the new connection never becomes
 * ready (a frozen server: SIGSTOP, DEBUG SLEEP, or a port that accepts TCP and never speaks).
 * ioredis bounds only the TCP connect (connectTimeout), not the ready check after it, and gives a
 * queued command up only at a close (maxRetriesPerRequest counts reconnect attempts): an enqueue
 * then never settled. And during a plain outage (connection refused), an enqueue issued once the
 * outage lasted past ioredis's first give-up (about 10 s) waited for the next one, 21 attempts
 * 2 s apart: about 43 s, where the README promised about 10 s. Each call now rejects within
 * `offlineTimeoutMs` (10 s by default) of its issue or of the drop that left it unanswered, with a
 * RedisUnreachableError that says whether it may have run. And a reconnect accepted and never
 * answered stayed so for good, though Redis was back: it is now cut after twice connectTimeout of
 * silence, and made again.
 */
describe('attack: a call while the command connection is down or never gets ready', () => {
  let server: RedisServerHandle;
  let producer: TestApp;
  let commands: Redis;
  const extras: (() => Promise<void>)[] = [];

  beforeEach(async () => {
    server = await startRedisServer();
    producer = await startApp({
      prefix: randomPrefix(),
      options: { worker: false, connection: { url: server.url } },
    });
    commands = producer.app.get(RedisConnections).commands;
  });
  afterEach(async () => {
    if (server.running) await server.kill('SIGCONT');
    await closeApps();
    for (const extra of extras.splice(0)) await extra();
    await server.stop();
  });

  it('rejects an enqueue queued behind a reconnect whose ready check is never answered, saying it was never sent', async () => {
    await server.kill('SIGKILL');
    const silent = await silentServer(server.port);
    extras.push(() => silent.close());
    // The TCP connection is accepted: ioredis waits for INFO's answer, its connectTimeout over.
    await waitFor(() => commands.status === 'connect', { timeoutMs: 10_000, intervalMs: 5 });

    const [outcome, read] = await Promise.all([
      outcomeWithin(producer.client.enqueue('echo', 'never-sent'), DEFAULT_BOUND_MS + SLACK_MS),
      outcomeWithin(producer.client.status('some-key'), DEFAULT_BOUND_MS + SLACK_MS),
    ]);

    expect(outcome).toBeInstanceOf(RedisUnreachableError);
    expect((outcome as RedisUnreachableError).message).toMatch(/never sent.*nothing was written/);
    expect((outcome as { mayHaveRun?: boolean }).mayHaveRun).toBe(false);
    // A read too.
    expect(read).toBeInstanceOf(RedisUnreachableError);
  }, 40_000);

  it('rejects an enqueue written before the drop, whose reconnect never gets ready, saying it may have run', async () => {
    // Frozen: the kernel still accepts connections into the listen backlog, nothing answers.
    await server.kill('SIGSTOP');
    const sent = producer.client.enqueue('echo', 'sent');
    await waitFor(
      () =>
        commands.status === 'ready' &&
        (commands as unknown as { commandQueue: { length: number } }).commandQueue.length > 0,
      { intervalMs: 1 },
    );
    // The connection drops (a cut); the reconnect is accepted and its ready check never answered.
    commands.stream.destroy();
    await waitFor(() => commands.status === 'connect', { timeoutMs: 10_000, intervalMs: 5 });

    const outcome = await outcomeWithin(sent, DEFAULT_BOUND_MS + SLACK_MS);

    expect(outcome).toBeInstanceOf(RedisUnreachableError);
    expect((outcome as RedisUnreachableError).message).toMatch(/sent before the connection dropped.*may have run/);
    expect((outcome as { mayHaveRun?: boolean }).mayHaveRun).toBe(true);
  }, 40_000);

  it('rejects an enqueue issued late in an outage within the bound, not at ioredis next give-up (about 43 s)', async () => {
    await server.kill('SIGKILL');
    // Past ioredis's first give-up (21 attempts, about 10.5 s): its next one is 21 x 2 s away.
    await waitFor(() => (commands as unknown as { retryAttempts: number }).retryAttempts > 21, {
      timeoutMs: 20_000,
      intervalMs: 50,
    });

    const outcome = await outcomeWithin(producer.client.enqueue('echo', 'late'), DEFAULT_BOUND_MS + SLACK_MS);

    expect(outcome).toBeInstanceOf(RedisUnreachableError);
    expect((outcome as RedisUnreachableError).message).toMatch(/never sent.*nothing was written/);
  }, 60_000);

  it('follows offlineTimeoutMs', async () => {
    await closeApps();
    const configured = await startApp({
      prefix: randomPrefix(),
      options: { worker: false, connection: { url: server.url }, offlineTimeoutMs: 1_000 },
    });
    await server.kill('SIGKILL');
    await waitFor(() => configured.app.get(RedisConnections).commands.status !== 'ready', { intervalMs: 1 });

    const outcome = await outcomeWithin(configured.client.enqueue('echo', 'configured'), 1_000 + SLACK_MS);

    expect(outcome).toBeInstanceOf(RedisUnreachableError);
    expect((outcome as RedisUnreachableError).message).toMatch(
      /no ready connection for 1000 ms \(offlineTimeoutMs\).*never sent/,
    );
  }, 30_000);

  it('cuts a reconnect that is accepted and never answered, and connects again once Redis is back', async () => {
    await closeApps();
    const url = new URL(server.url);
    const recovering = await startApp({
      prefix: randomPrefix(),
      options: {
        worker: false,
        connection: { host: url.hostname, port: Number(url.port), connectTimeout: 1_000 },
        offlineTimeoutMs: 60_000,
      },
    });
    const connection = recovering.app.get(RedisConnections).commands;
    await server.kill('SIGKILL');
    const silent = await silentServer(server.port);
    extras.push(() => silent.close());
    await waitFor(() => connection.status === 'connect', { timeoutMs: 10_000, intervalMs: 5 });
    // Redis is back on the port; the accepted connection stays open, and silent.
    await silent.stopListening();
    await server.restart();

    const outcome = await outcomeWithin(recovering.client.enqueue('echo', 'after-recovery'), 1_000 + SLACK_MS);

    expect(outcome).toBe('resolved');
  }, 30_000);
});
