import { createServer, connect, type Server, type Socket } from 'node:net';
import { redisUrl } from './redis';

interface Pair {
  client: Socket;
  upstream: Socket;
  dead: boolean;
  repliesLost?: boolean;
  closeOnReply?: boolean;
  /** Replies held (holdRepliesFromCommandWith), in order, until released. */
  heldReplies?: Buffer[];
}

/** A hold of the replies of the next connection to send bytes holding every marker. */
interface ReplyHold {
  readonly markers: Buffer[];
  pair?: Pair;
}

/**
 * A TCP proxy to the test Redis (or to `target`: one node of a cluster) whose existing connections
 * can be made half-open: bytes the client sends are swallowed and nothing comes back, while the
 * sockets stay open (a NAT or load balancer that lost its state, a peer that vanished without a
 * FIN). New connections pass.
 */
export class HalfOpenProxy {
  private readonly pairs: Pair[] = [];
  private server?: Server;
  private refusing = false;
  private acceptDelayMs = 0;
  private loseRepliesAfter?: Buffer;
  private closeAfter?: Buffer;
  private holdAfter?: ReplyHold;
  private keepingEnded = false;

  constructor(private readonly target?: { host: string; port: number }) {}

  /** Starts listening; a second start (one proxy for several workers or tests) answers the same port. */
  async start(): Promise<number> {
    if (this.server) return (this.server.address() as { port: number }).port;
    const url = new URL(redisUrl());
    const target = this.target ?? { host: url.hostname, port: Number(url.port) };
    // Half-open allowed so that a client's FIN can go unanswered (keepEndedOpen); else answered.
    this.server = createServer({ allowHalfOpen: true }, (client) => {
      if (this.refusing) return void client.destroy();
      if (this.acceptDelayMs > 0) {
        // Bytes the client sends meanwhile wait in its socket: the connection is slow, not lost.
        client.pause();
        setTimeout(() => client.resume(), this.acceptDelayMs);
      }
      const upstream = connect(target.port, target.host);
      const pair: Pair = { client, upstream, dead: false };
      this.pairs.push(pair);
      client.on('data', (d) => {
        if (this.loseRepliesAfter && d.includes(this.loseRepliesAfter)) {
          this.loseRepliesAfter = undefined;
          pair.repliesLost = true;
        }
        const hold = this.holdAfter;
        if (hold && hold.markers.every((m) => d.includes(m))) {
          this.holdAfter = undefined;
          hold.pair = pair;
          pair.heldReplies = [];
        }
        if (this.closeAfter && d.includes(this.closeAfter)) {
          this.closeAfter = undefined;
          pair.closeOnReply = true;
        }
        if (!pair.dead) upstream.write(d);
      });
      upstream.on('data', (d) => {
        if (pair.closeOnReply) {
          // Redis answered: the command ran. The answer is dropped with the connection.
          client.destroy();
          upstream.destroy();
          return;
        }
        if (pair.heldReplies) return void pair.heldReplies.push(d);
        if (!pair.dead && !pair.repliesLost) client.write(d);
      });
      client.on('end', () => {
        if (!this.keepingEnded) client.end();
      });
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

  /**
   * From now on a connection its client ends (FIN) is left open: the FIN is neither answered nor
   * passed on, so the client's socket never closes (a peer gone, or a FIN dropped on the way,
   * while the client closes). Until stop().
   */
  keepEndedOpen(): void {
    this.keepingEnded = true;
  }

  /** New connections are closed as soon as they open, until acceptNew(): Redis is unreachable. */
  refuseNew(): void {
    this.refusing = true;
  }

  acceptNew(): void {
    this.refusing = false;
  }

  /** A new connection's first bytes reach Redis `ms` later (a slow handshake, a busy network). */
  delayNew(ms: number): void {
    this.acceptDelayMs = ms;
  }

  /** Whether one of its connections reaches Redis from `addr`. */
  carries(addr: string): boolean {
    return this.pairs.some((p) => `${p.upstream.localAddress}:${p.upstream.localPort}` === addr);
  }

  /** The connection whose upstream side Redis sees at `addr` (CLIENT LIST's addr=) goes silent, for good. */
  blackholeUpstream(addr: string): void {
    for (const pair of this.pairs) {
      if (`${pair.upstream.localAddress}:${pair.upstream.localPort}` === addr) pair.dead = true;
    }
  }

  /** Every connection open now still reaches Redis, but its replies are lost, for good. */
  loseRepliesOfExisting(): void {
    for (const pair of this.pairs) pair.repliesLost = true;
  }

  /**
   * The next connection to send bytes holding `marker` (say one argument of a command, as RESP
   * writes it) still reaches Redis, but from those bytes on its replies are lost, for good.
   */
  loseRepliesFromCommandWith(marker: string): void {
    this.loseRepliesAfter = Buffer.from(marker);
  }

  /**
   * The next connection to send bytes holding `marker` (say one argument of a command, as RESP
   * writes it) has them reach Redis; once Redis answers, the connection is closed (both sides)
   * and that answer is lost: the command ran, the client sees its connection drop.
   */
  closeOnReplyToCommandWith(marker: string): void {
    this.closeAfter = Buffer.from(marker);
  }

  /**
   * The next connection to send bytes holding every one of `markers` has them reach Redis, which
   * runs the command; its replies from then on are held until the returned function is called,
   * which lets them through in order (and the later ones as they come): the client hears late.
   */
  holdRepliesFromCommandWith(...markers: string[]): () => void {
    const hold: ReplyHold = { markers: markers.map((m) => Buffer.from(m)) };
    this.holdAfter = hold;
    return () => {
      if (this.holdAfter === hold) this.holdAfter = undefined;
      const pair = hold.pair;
      const replies = pair?.heldReplies ?? [];
      if (pair) pair.heldReplies = undefined;
      for (const d of replies) if (!pair!.dead && !pair!.repliesLost) pair!.client.write(d);
    };
  }

  async stop(): Promise<void> {
    for (const { client, upstream } of this.pairs) {
      client.destroy();
      upstream.destroy();
    }
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}
