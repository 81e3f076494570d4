import type { Socket } from 'node:net';
import type { Redis } from 'ioredis';
import { timeoutAfterPendingIo } from '../race-timeout';
import { isClusterClient } from './connection-check';

/**
 * @internal Reconnects a connection that stopped answering. A half-open one (a NAT or load
 * balancer that lost its state, a peer gone without a FIN) swallows what is sent and answers
 * nothing, and neither ioredis nor the OS notices: TCP gives up after many minutes, or never
 * while something on the path still acknowledges. Meanwhile every command on it waits: a
 * worker's settles, reads and sweeps, while its heartbeat (a connection of its own) keeps its
 * lease, so no other worker takes its runs over either. Every `intervalMs` a PING goes out
 * (one at a time). A socket on which nothing at all arrived for `boundMs` while that PING waited
 * is destroyed, and ioredis reconnects and resends the commands still unanswered (every script
 * tolerates a repeat: see redis-connections.ts). The heartbeat thread does the same with its own
 * connection. A PING answered late on a socket whose replies keep arriving is not a dead one: it
 * waits behind a backlog (Redis answers a connection's commands in order; a bulk enqueue is one
 * pipeline), and a drop would resend commands Redis had run (a plain XADD: a task enqueued
 * twice). `boundMs` must cover the longest Redis may legitimately stay silent on it (a blocking
 * read's BLOCK, one slow command). No PING goes out while `paused()` (a client handed in whose
 * application holds a transaction open: the module's commands wait, unsent, and so would the
 * PING). Returns its stop; a connection ended for good stops it too.
 */
export function watchReplies(
  redis: Redis,
  intervalMs: number,
  boundMs: number,
  paused: () => boolean = () => false,
): () => void {
  // A cluster client has no socket of its own, and its PING goes to a node it picks, opening a
  // connection the worker would not otherwise hold: its node connections are watched instead
  // (watchNodeReplies).
  if (isClusterClient(redis)) return () => undefined;
  let probe = 0;
  let outstanding = false;
  let listened: Socket | undefined;
  let heardAt = 0;
  const heard = () => void (heardAt = performance.now());
  const timer = setInterval(() => {
    if (redis.status === 'end') return stop();
    if (outstanding || redis.status !== 'ready' || paused()) return;
    const socket = redis.stream as Socket;
    if (socket !== listened) {
      listened?.off('data', heard);
      socket.on('data', heard);
      listened = socket;
    }
    const id = ++probe;
    outstanding = true;
    heard(); // the bound counts from the PING's sending
    let cancel: () => void;
    // Judged once the bytes that came meanwhile are read (timeoutAfterPendingIo): with the event
    // loop blocked past the bound, a reply waiting unread in the socket is not silence.
    const wait = (ms: number) => (cancel = timeoutAfterPendingIo(ms, check, { unref: true }));
    const check = () => {
      // A PING resent on the next connection may never be answered either: probe that one anew.
      if (redis.status !== 'ready' || redis.stream !== socket) return void (outstanding = false);
      const silentMs = performance.now() - heardAt;
      if (silentMs < boundMs) return void wait(boundMs - silentMs);
      outstanding = false;
      socket.destroy(new Error(`no reply within ${boundMs} ms (a half-open connection?)`));
    };
    wait(boundMs);
    const answered = () => {
      cancel();
      if (probe === id) outstanding = false;
    };
    redis.ping().then(answered, answered);
  }, intervalMs);
  timer.unref();
  function stop(): void {
    clearInterval(timer);
    listened?.off('data', heard);
  }
  return stop;
}
