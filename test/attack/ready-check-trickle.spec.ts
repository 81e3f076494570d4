import { createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { boundReadyCheck } from '../../lib/redis/ready-check-bound';
import { outcomeWithin } from '../utils/outcome-within';

/** connectTimeout here: the check's bound is twice it, or once heard, it plus maxLoadingRetryTime. */
const CONNECT_TIMEOUT_MS = 200;
const LOADING_PAUSE_MS = 100;
/** Far shorter than any bound above: on the old code each byte reset the cut before it fell. */
const TRICKLE_EVERY_MS = 20;
/** Generous: the cut is due 400 ms after the check began; a loaded machine's timers run late. */
const WAIT_MS = 15_000;

/**
 * A port that accepts TCP and answers the ready check's INFO one byte at a time, never finishing
 * a reply (a bulk string's length that never ends). `closed`: the first connection's end, and
 * the error the client cut it with, as the server hears of it (its socket closed).
 */
async function tricklingServer(): Promise<{ port: number; closed: Promise<void>; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let closedFirst!: () => void;
  const closed = new Promise<void>((resolve) => (closedFirst = resolve));
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.write('$');
    const trickle = setInterval(() => socket.write('1'), TRICKLE_EVERY_MS);
    socket.once('close', () => {
      clearInterval(trickle);
      closedFirst();
    });
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    closed,
    close: () =>
      new Promise<void>((resolve) => {
        sockets.forEach((socket) => socket.destroy());
        server.close(() => resolve());
      }),
  };
}

/** A RESP bulk string. */
const bulk = (text: string) => `$${Buffer.byteLength(text)}\r\n${text}\r\n`;

/**
 * A port that speaks as a Redis loading its dataset: `rounds` INFO answers of `loading:1`, each
 * sent ROUND_MS after its INFO (within a round's bound, past it when added up), then `loading:0`;
 * every other command gets +OK. Commands are read as ioredis writes them (RESP arrays).
 */
async function loadingServer(rounds: number, roundMs: number): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let infos = 0;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      // One command per complete array: `*<n>` then n bulk strings.
      for (;;) {
        const command = /^\*(\d+)\r\n/.exec(buffered);
        if (!command) return;
        let at = command[0].length;
        const args: string[] = [];
        for (let i = 0; i < Number(command[1]); i++) {
          const arg = /^\$(\d+)\r\n/.exec(buffered.slice(at));
          if (!arg || buffered.length < at + arg[0].length + Number(arg[1]) + 2) return;
          args.push(buffered.slice(at + arg[0].length, at + arg[0].length + Number(arg[1])));
          at += arg[0].length + Number(arg[1]) + 2;
        }
        buffered = buffered.slice(at);
        if (args[0].toLowerCase() !== 'info') socket.write('+OK\r\n');
        else {
          const loading = ++infos <= rounds ? 1 : 0;
          setTimeout(
            () => socket.write(bulk(`# Persistence\r\nloading:${loading}\r\nloading_eta_seconds:0\r\n`)),
            roundMs,
          );
        }
      }
    });
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        sockets.forEach((socket) => socket.destroy());
        server.close(() => resolve());
      }),
  };
}

/** A client of the peer at `port`, its ready check bounded, never reconnecting; `errors` it heard. */
function boundClient(port: number): { redis: Redis; errors: string[] } {
  const redis = new Redis({
    host: '127.0.0.1',
    port,
    connectTimeout: CONNECT_TIMEOUT_MS,
    maxLoadingRetryTime: LOADING_PAUSE_MS,
    retryStrategy: () => null,
    lazyConnect: true,
  });
  const errors: string[] = [];
  redis.on('error', (error: Error) => errors.push(error.message));
  boundReadyCheck(redis);
  redis.connect().catch(() => undefined);
  return { redis, errors };
}

/**
 * boundReadyCheck cuts a connection whose ready check goes unanswered (every connection the
 * module makes: on a cluster, each blocking read's, pinned to a node). It was a silence bound: the
 * cut was armed again at every byte heard, so a peer that sends one byte every few seconds, never
 * a complete reply, held the connection 'connect' for ever, and with it the blocking reads it
 * carries. The cut is now measured from the start of the check's round (a complete reply starts
 * the next): this peer's connection is cut, and the client hears why. A review finding; it failed
 * first (still open, pending, at WAIT_MS).
 */
describe('attack: a ready check answered a byte at a time', () => {
  const ends: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const end of ends.splice(0)) await end();
  });

  it('is cut, bounded from the start of the check, not kept alive by each byte', async () => {
    const peer = await tricklingServer();
    ends.push(() => peer.close());
    const { redis, errors } = boundClient(peer.port);
    ends.push(async () => void redis.disconnect());

    expect(await outcomeWithin(peer.closed, WAIT_MS)).toBe('resolved');
    expect(errors).toContainEqual(expect.stringMatching(/ready check got no complete answer within 400 ms/));
    expect(redis.status).not.toBe('ready');
  }, 30_000);

  it('control: a Redis loading its data answers each round in time, and gets ready past one round’s bound', async () => {
    // 12 rounds of about 200 ms (ioredis's 100 ms pause, then the answer): six times a round's 400 ms bound.
    const peer = await loadingServer(12, 100);
    ends.push(() => peer.close());
    const { redis, errors } = boundClient(peer.port);
    ends.push(async () => void redis.disconnect());

    const outcome = await new Promise((resolve) =>
      redis.once('ready', () => resolve('ready')).once('end', () => resolve('end')),
    );
    expect({ outcome, errors }).toEqual({ outcome: 'ready', errors: [] });
  }, 30_000);
});
