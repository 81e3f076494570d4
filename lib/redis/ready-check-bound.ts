import type { Socket } from 'node:net';
import type { Redis } from 'ioredis';
import { connectTimeoutOf } from './redis-readiness';

/** ioredis's queue of what it wrote (internal, read only here): its head awaits the next reply. */
interface CommandQueue {
  readonly commandQueue: { peekAt(index: number): { command: object } | undefined };
}

/**
 * @internal Cuts a (re)connection that was accepted and then did not get ready in time. ioredis
 * bounds only the TCP connect: a frozen Redis (SIGSTOP, DEBUG SLEEP, a restart that hangs) or a
 * port that accepts and never speaks leaves it waiting for its ready check's INFO for ever,
 * 'connect' rather than 'ready', so neither its retries nor the reply watchdog (which probes ready
 * connections) ever run again. Cut, it reconnects on its own schedule. Each round of the check
 * (an INFO and its reply) is bounded from its start: twice connectTimeout while nothing was
 * heard (a bootstrap's attempt gives up after one, in awaitRedis, and its error, which names the
 * attempts, must not race this cut's); once anything was heard, connectTimeout plus
 * `maxLoadingRetryTime` (10 s by default) if that is longer, since a Redis loading its dataset
 * answers INFO with `loading:1` and ioredis asks again that much later: a complete reply starts
 * the next round. A byte alone does not: a peer trickling one every few seconds, never finishing a
 * reply, reset the cut at each one and held the connection for ever.
 */
export function boundReadyCheck(redis: Redis): void {
  redis.on('connect', () => {
    const socket = redis.stream as Socket;
    const ms = connectTimeoutOf(redis);
    const heardMs = Math.min(Math.max(2 * ms, ms + (redis.options.maxLoadingRetryTime ?? 10_000)), 2 ** 31 - 1);
    const queue = (redis as unknown as CommandQueue).commandQueue;
    const head = () => queue.peekAt(0)?.command;
    let timer: NodeJS.Timeout;
    let roundStart = performance.now();
    let heard = false;
    let headBefore: object | undefined;
    // Before ioredis parses a chunk: whether a reply completed is told by the head it takes off.
    const beforeData = () => void (headBefore = head());
    const afterData = () => {
      const replied = headBefore !== undefined && head() !== headBefore;
      if (replied) roundStart = performance.now();
      if (replied || !heard) {
        heard = true;
        arm(heardMs);
      }
    };
    const arm = (allowedMs: number) => {
      clearTimeout(timer);
      const leftMs = Math.max(0, roundStart + allowedMs - performance.now());
      timer = setTimeout(() => {
        if (redis.status !== 'connect' || redis.stream !== socket) return done();
        socket.destroy(new Error(`connected, but the ready check got no complete answer within ${allowedMs} ms`));
      }, leftMs);
      timer.unref();
    };
    const done = () => {
      clearTimeout(timer);
      socket.off('data', beforeData).off('data', afterData);
      redis.off('ready', done).off('close', done);
    };
    socket.prependListener('data', beforeData).on('data', afterData);
    redis.once('ready', done).once('close', done);
    arm(Math.min(2 * ms, 2 ** 31 - 1));
  });
}
