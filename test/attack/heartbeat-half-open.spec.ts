import type { Logger } from '@nestjs/common';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { LeaseKeeper } from '../../lib/consumer/lease-keeper';
import { RecordingLogger } from '../fixtures/recording-logger';
import { closeAll, createRedis, randomPrefix, redisUrl, waitFor } from '../utils/redis';

/**
 * A TCP proxy to the test Redis whose existing connections can be made half-open: bytes the
 * client sends are swallowed and nothing comes back, while the sockets stay open (a NAT or
 * load balancer that lost its state, a peer that vanished without a FIN). New connections pass.
 */
class HalfOpenProxy {
  private readonly pairs: Array<{ client: Socket; upstream: Socket; dead: boolean }> = [];
  private server?: Server;

  async start(): Promise<number> {
    const target = new URL(redisUrl());
    this.server = createServer((client) => {
      const upstream = connect(Number(target.port), target.hostname);
      const pair = { client, upstream, dead: false };
      this.pairs.push(pair);
      client.on('data', (d) => !pair.dead && upstream.write(d));
      upstream.on('data', (d) => !pair.dead && client.write(d));
      client.on('error', () => undefined);
      upstream.on('error', () => undefined);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as { port: number }).port;
  }

  /** Every connection open now goes silent, for good. */
  blackholeExisting(): void {
    for (const pair of this.pairs) pair.dead = true;
  }

  async stop(): Promise<void> {
    for (const { client, upstream } of this.pairs) {
      client.destroy();
      upstream.destroy();
    }
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

/**
 * Attack on the heartbeat thread: a beat is skipped while the previous one is `busy`, and the
 * heartbeat connection has no command timeout. One beat sent into a half-open connection never
 * resolves, so no beat is ever sent again: the worker loses its lease and stays leaseless (reads
 * nothing, starts nothing) until the OS gives up on the socket (minutes: TCP retransmissions),
 * although a fresh connection to Redis works at once.
 */
describe('attack: a heartbeat stuck on a half-open connection', () => {
  const proxy = new HalfOpenProxy();
  const redis = createRedis();
  let keeper: LeaseKeeper | undefined;
  afterAll(async () => {
    await keeper?.stop(true);
    await proxy.stop();
    await closeAll();
  });

  it('the lease is held again soon after the connection went half-open', async () => {
    const port = await proxy.start();
    const key = `{${randomPrefix()}:q}:alive:me`;
    keeper = new LeaseKeeper({
      connection: { kind: 'single', options: { host: '127.0.0.1', port } },
      address: `127.0.0.1:${port}`,
      keyGroups: [[key]],
      leaseMs: 1_000,
      intervalMs: 200,
      maxStallMs: 60_000,
      logger: new RecordingLogger() as unknown as Logger,
      onLapse: () => undefined,
    });
    await keeper.start();
    expect(keeper.isHeld()).toBe(true);

    proxy.blackholeExisting();
    await waitFor(() => !keeper!.isHeld(), { timeoutMs: 5_000, description: 'the lease to run down' });

    // A new connection would beat at once: the keeper must not stay leaseless for minutes.
    await waitFor(() => keeper!.isHeld(), { timeoutMs: 10_000, description: 'the lease held again' });
    expect(await redis.pttl(key)).toBeGreaterThan(0);
  });
});
