import type { Redis } from 'ioredis';

/**
 * @internal Reconnects a connection that stopped answering. A half-open one (a NAT or load
 * balancer that lost its state, a peer gone without a FIN) swallows what is sent and answers
 * nothing, and neither ioredis nor the OS notices: TCP gives up after many minutes, or never
 * while something on the path still acknowledges. Meanwhile every command on it waits: a
 * worker's settles, reads and sweeps, while its heartbeat (a connection of its own) keeps its
 * lease, so no other worker takes its runs over either. Every `intervalMs` a PING goes out
 * (one at a time); one left unanswered for `boundMs` on the socket it went out on destroys that
 * socket, and ioredis reconnects and resends the commands still unanswered (every script
 * tolerates a repeat: see redis-connections.ts). The heartbeat thread does the same with its
 * own connection. `boundMs` must cover the longest wait Redis may legitimately take to answer
 * (a blocking read's BLOCK). Returns its stop; a connection ended for good stops it too.
 */
export function watchReplies(redis: Redis, intervalMs: number, boundMs: number): () => void {
  let probe = 0;
  let outstanding = false;
  const timer = setInterval(() => {
    if (redis.status === 'end') return clearInterval(timer);
    if (outstanding || redis.status !== 'ready') return;
    const socket = redis.stream;
    const id = ++probe;
    outstanding = true;
    const deadline = setTimeout(() => {
      // A PING resent on the next connection may never be answered either: probe that one anew.
      outstanding = false;
      if (redis.status !== 'ready' || redis.stream !== socket) return;
      socket.destroy(new Error(`no reply within ${boundMs} ms (a half-open connection?)`));
    }, boundMs);
    deadline.unref();
    redis.ping().then(
      () => {
        clearTimeout(deadline);
        if (probe === id) outstanding = false;
      },
      () => {
        clearTimeout(deadline);
        if (probe === id) outstanding = false;
      },
    );
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
