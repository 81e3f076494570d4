import type { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { watchReplies } from '../redis/reply-watchdog';
import type { BlockingRoute } from '../redis/topology';

/** Tries of one interrupt that found the call not blocked yet (still on its way to Redis). */
const UNBLOCK_TRIES = 8;

/** How a blocking connection is watched for replies (see watchReplies): its BLOCK is allowed for. */
export interface ReplyWatch {
  readonly intervalMs: number;
  readonly boundMs: number;
}

/** A call in flight; `unblocker` is known once its node is. */
interface Call {
  interrupted: boolean;
  unblocker?: Redis;
}

/**
 * @internal A connection for one blocking command at a time, which another connection can cut
 * short: CLIENT UNBLOCK (sent on the command connection) makes a blocked XREADGROUP return as if
 * its timeout had elapsed. Redis answers a blocked read with entries or with nil, atomically, so
 * an interrupt never loses entries: either they were handed over in the reply, or they were not
 * read. An interrupt that cannot be sent (an ACL without `client|id` or `client|unblock`) only
 * costs latency: the call returns at its timeout, as it would have anyway; it is logged once.
 * The route says which node the call goes to (on a cluster, the master of its slot): a call
 * whose keys moved or whose node failed over answers nil too, and the next goes where they are.
 * A blocking connection that stops answering (half-open) is dropped and made again (`replyWatch`),
 * and ioredis resends the read in flight on the new one.
 */
export class UnblockableConnection {
  /** The blocking connection's id; null when the ACL refuses CLIENT ID (no interrupts then). */
  private clientId?: number | null;
  private current?: Call;
  private blocking?: Redis;
  private unwatch?: () => void;

  constructor(
    private readonly route: BlockingRoute,
    /** Says once per process (shared by every blocking connection) that interrupts cannot be sent. */
    private readonly cannotInterrupt: (error: unknown) => void,
    private readonly replyWatch?: ReplyWatch,
  ) {}

  /** Sends `command`; an interrupt before it was sent answers nil (a timeout) without sending. */
  async call(command: string, args: (string | number)[]): Promise<unknown> {
    const call: Call = (this.current = { interrupted: false });
    try {
      const { blocking, unblocker } = await this.route.connection();
      this.watch(blocking);
      call.unblocker = unblocker;
      if (this.clientId === undefined) this.clientId = await this.askId(blocking);
      if (call.interrupted) return null;
      return await unlessEnded(blocking, blocking.call(command, ...args));
    } catch (error) {
      if (await this.route.rerouted(error)) return null;
      throw error;
    } finally {
      if (this.current === call) this.current = undefined;
    }
  }

  /** A new connection has a new id: asked again before the next call. */
  private watch(blocking: Redis): void {
    if (this.blocking === blocking) return;
    this.blocking = blocking;
    this.unwatch?.();
    if (this.replyWatch) this.unwatch = watchReplies(blocking, this.replyWatch.intervalMs, this.replyWatch.boundMs);
    if (this.clientId !== null) this.clientId = undefined;
    blocking.on('close', () => {
      if (this.clientId !== null && this.blocking === blocking) this.clientId = undefined;
    });
  }

  /** Makes the call in flight, if any, return now; at most one interrupt per call. */
  interrupt(): void {
    const call = this.current;
    if (!call || call.interrupted) return;
    call.interrupted = true;
    if (typeof this.clientId === 'number' && call.unblocker) void this.unblock(call, call.unblocker, this.clientId);
  }

  private async askId(blocking: Redis): Promise<number | null> {
    try {
      return Number(await blocking.client('ID'));
    } catch (error) {
      if (!/NOPERM/.test(String((error as Error).message))) throw error;
      this.cannotInterrupt(error);
      return null;
    }
  }

  private async unblock(call: Call, unblocker: Redis, id: number): Promise<void> {
    try {
      for (let attempt = 1; attempt <= UNBLOCK_TRIES && this.current === call; attempt++) {
        // 0: the call was not blocked, because Redis had not received it yet or already answered it.
        if ((await unblocker.client('UNBLOCK', id)) === 1) return;
        await new Promise((resolve) => setTimeout(resolve, attempt));
      }
    } catch (error) {
      this.cannotInterrupt(error);
    }
  }
}

/** @internal The warning UnblockableConnections give when CLIENT ID or UNBLOCK is refused, once. */
export function cannotInterruptWarning(logger: Logger): (error: unknown) => void {
  let warned = false;
  return (error) => {
    if (warned) return;
    warned = true;
    logger.warn(
      `CLIENT ID or CLIENT UNBLOCK failed (${(error as Error).message}): a queue whose slots free up while the shared read blocks waits up to blockMs for its next read. Allow client|id and client|unblock.`,
    );
  };
}

/**
 * `reply`, or a rejection once `redis` ends for good first: ioredis keeps a command sent before its
 * connection dropped for a resend after the reconnect, and never settles it when no reconnect
 * comes (its retryStrategy gave up), so the read would wait for ever and no other be made.
 */
function unlessEnded<T>(redis: Redis, reply: Promise<T>): Promise<T> {
  if (redis.status === 'end') return reply;
  return new Promise<T>((resolve, reject) => {
    const ended = () => reject(new Error('Connection is closed.'));
    redis.once('end', ended);
    reply.then(resolve, reject).finally(() => redis.off('end', ended));
  });
}
