import type { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';

/** Tries of one interrupt that found the call not blocked yet (still on its way to Redis). */
const UNBLOCK_TRIES = 8;

/**
 * @internal A connection for one blocking command at a time, which another connection can cut
 * short: CLIENT UNBLOCK (sent on the command connection) makes a blocked XREADGROUP return as if
 * its timeout had elapsed. Redis answers a blocked read with entries or with nil, atomically, so
 * an interrupt never loses entries: either they were handed over in the reply, or they were not
 * read. An interrupt that cannot be sent (an ACL without `client|id` or `client|unblock`) only
 * costs latency: the call returns at its timeout, as it would have anyway; it is logged once.
 */
export class UnblockableConnection {
  /** The blocking connection's id; null when the ACL refuses CLIENT ID (no interrupts then). */
  private clientId?: number | null;
  private current?: { interrupted: boolean };
  private warned = false;

  constructor(
    private readonly blocking: Redis,
    private readonly commands: Redis,
    private readonly logger: Logger,
  ) {
    // A new connection has a new id: asked again before the next call.
    blocking.on('close', () => {
      if (this.clientId !== null) this.clientId = undefined;
    });
  }

  /** Sends `command`; an interrupt before it was sent answers nil (a timeout) without sending. */
  async call(command: string, args: (string | number)[]): Promise<unknown> {
    const call = (this.current = { interrupted: false });
    try {
      if (this.clientId === undefined) this.clientId = await this.askId();
      if (call.interrupted) return null;
      return await this.blocking.call(command, ...args);
    } finally {
      if (this.current === call) this.current = undefined;
    }
  }

  /** Makes the call in flight, if any, return now; at most one interrupt per call. */
  interrupt(): void {
    const call = this.current;
    if (!call || call.interrupted) return;
    call.interrupted = true;
    if (typeof this.clientId === 'number') void this.unblock(call, this.clientId);
  }

  private async askId(): Promise<number | null> {
    try {
      return Number(await this.blocking.client('ID'));
    } catch (error) {
      if (!/NOPERM/.test(String((error as Error).message))) throw error;
      this.warnOnce(error);
      return null;
    }
  }

  private warnOnce(error: unknown): void {
    if (this.warned) return;
    this.warned = true;
    this.logger.warn(
      `CLIENT ID or CLIENT UNBLOCK failed (${(error as Error).message}): a queue whose slots free up while the shared read blocks waits up to blockMs for its next read. Allow client|id and client|unblock.`,
    );
  }

  private async unblock(call: { interrupted: boolean }, id: number): Promise<void> {
    try {
      for (let attempt = 1; attempt <= UNBLOCK_TRIES && this.current === call; attempt++) {
        // 0: the call was not blocked, because Redis had not received it yet or already answered it.
        if ((await this.commands.client('UNBLOCK', id)) === 1) return;
        await new Promise((resolve) => setTimeout(resolve, attempt));
      }
    } catch (error) {
      this.warnOnce(error);
    }
  }
}
