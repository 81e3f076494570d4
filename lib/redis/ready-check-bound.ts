import type { Socket } from 'node:net';
import type { Redis } from 'ioredis';
import { connectTimeoutOf } from './redis-readiness';

/**
 * @internal Cuts a (re)connection that was accepted and then heard nothing for the connection's
 * connectTimeout before it got ready. ioredis bounds only the TCP connect: a frozen Redis
 * (SIGSTOP, DEBUG SLEEP, a restart that hangs) or a port that accepts and never speaks leaves it
 * waiting for its ready check's INFO for ever, 'connect' rather than 'ready', so neither its
 * retries nor the reply watchdog (which probes ready connections) ever run again. Cut, it
 * reconnects on its own schedule. Silence is what counts, not the wait: a Redis loading its
 * dataset answers INFO with `loading:1`, and ioredis asks again after up to `maxLoadingRetryTime`
 * (10 s by default), so once anything was heard that pause is allowed on top. Before that, the
 * silence allowed is twice connectTimeout: a bootstrap's attempt gives up after one
 * (awaitRedis), and its error, which names the attempts, must not race this cut's.
 */
export function boundReadyCheck(redis: Redis): void {
  redis.on('connect', () => {
    const socket = redis.stream as Socket;
    const ms = connectTimeoutOf(redis);
    const loadingPauseMs = redis.options.maxLoadingRetryTime ?? 10_000;
    let timer: NodeJS.Timeout;
    let silentMs = Math.min(2 * ms, 2 ** 31 - 1);
    const heard = () => {
      silentMs = Math.min(Math.max(2 * ms, ms + loadingPauseMs), 2 ** 31 - 1);
      arm();
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (redis.status !== 'connect' || redis.stream !== socket) return done();
        socket.destroy(new Error(`connected, but no answer to the ready check for ${silentMs} ms`));
      }, silentMs);
      timer.unref();
    };
    const done = () => {
      clearTimeout(timer);
      socket.off('data', heard);
      redis.off('ready', done).off('close', done);
    };
    socket.on('data', heard);
    redis.once('ready', done).once('close', done);
    arm();
  });
}
