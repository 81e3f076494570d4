/**
 * A TCP proxy on 127.0.0.1 in front of the queue's Redis, one per worker, so the chaos
 * controller can cut that worker's connections (all of them: commands, blocking reads, pub/sub
 * and the heartbeat thread's) while the rest of the system carries on:
 *   - drop():       resets every connection (RST both ways); clients reconnect at once;
 *   - stall(ms):    stops forwarding in both directions; bytes wait in the kernel buffers and
 *                   flow again afterwards, as after a network blackout that TCP survives;
 *   - halfOpen():   stops forwarding one direction only ('to-server': requests stop reaching
 *                   Redis; 'to-client': Redis executes requests but the replies never arrive),
 *                   then either resumes or resets the connections.
 * Connections opened while a direction is closed start closed in that direction.
 */
import { createServer, Socket, type AddressInfo, type Server } from 'node:net';
import { sleep } from './config';

export type Direction = 'to-server' | 'to-client';

interface Link {
  readonly client: Socket;
  readonly upstream: Socket;
}

export class ChaosProxy {
  private readonly links = new Set<Link>();
  private readonly closed: Record<Direction, boolean> = { 'to-server': false, 'to-client': false };
  /** Sockets reset by drop() and by a half-open ending in a reset. */
  resets = 0;

  private constructor(
    private readonly server: Server,
    private readonly target: { host: string; port: number },
  ) {
    server.on('connection', (client) => this.accept(client));
  }

  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<ChaosProxy> {
    const server = createServer();
    const proxy = new ChaosProxy(server, { host: targetHost, port: targetPort });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get connections(): number {
    return this.links.size;
  }

  /** Resets every connection now; returns how many were cut. */
  drop(): number {
    const n = this.links.size;
    for (const link of this.links) this.reset(link); // a Set tolerates deletion while iterated
    this.resets += n;
    return n;
  }

  /** Forwards nothing, either way, for `ms`; then everything buffered flows. */
  async stall(ms: number): Promise<void> {
    this.setClosed('to-server', true);
    this.setClosed('to-client', true);
    await sleep(ms);
    this.setClosed('to-server', false);
    this.setClosed('to-client', false);
  }

  /** Stops forwarding `direction` for `ms`, then resumes it or resets every connection. */
  async halfOpen(direction: Direction, ms: number, after: 'resume' | 'reset'): Promise<void> {
    this.setClosed(direction, true);
    await sleep(ms);
    if (after === 'reset') this.drop();
    this.setClosed(direction, false);
  }

  async close(): Promise<void> {
    for (const link of this.links) this.reset(link);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    const upstream = new Socket();
    const link: Link = { client, upstream };
    this.links.add(link);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const end = () => {
      if (!this.links.delete(link)) return;
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.on('error', end);
      socket.on('close', end);
    }
    upstream.connect(this.target.port, this.target.host);
    this.gate(link, 'to-server');
    this.gate(link, 'to-client');
  }

  private setClosed(direction: Direction, closed: boolean): void {
    this.closed[direction] = closed;
    for (const link of this.links) this.gate(link, direction);
  }

  /**
   * Opens or closes one direction of a link. Closed: the source is unpiped and paused, so its
   * bytes stay in the kernel's buffers (nothing is lost or reordered); open: piped again, with
   * pipe()'s backpressure.
   */
  private gate(link: Link, direction: Direction): void {
    const [from, to] = direction === 'to-server' ? [link.client, link.upstream] : [link.upstream, link.client];
    from.unpipe(to);
    if (this.closed[direction]) from.pause();
    else from.pipe(to, { end: true });
  }

  private reset(link: Link): void {
    this.links.delete(link);
    for (const socket of [link.client, link.upstream]) {
      try {
        socket.resetAndDestroy();
      } catch {
        socket.destroy(); // no TCP handle (yet): a plain close will do
      }
    }
  }
}
