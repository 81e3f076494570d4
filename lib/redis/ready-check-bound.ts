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
 * dataset answers INFO with `loading:1`, and ioredis asks again until it is done.
 */
export function boundReadyCheck(redis: Redis): void {
  redis.on('connect', () => {
    const socket = redis.stream as Socket;
    const ms = connectTimeoutOf(redis);
    let timer: NodeJS.Timeout;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (redis.status !== 'connect' || redis.stream !== socket) return done();
        socket.destroy(new Error(`connected, but no answer to the ready check within ${ms} ms`));
      }, ms);
      timer.unref();
    };
    const done = () => {
      clearTimeout(timer);
      socket.off('data', arm);
      redis.off('ready', done).off('close', done);
    };
    socket.on('data', arm);
    redis.once('ready', done).once('close', done);
    arm();
  });
}
