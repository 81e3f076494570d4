import type { Redis } from 'ioredis';
import type { Handover, RawEntry } from './intake';
import { monotonicMs } from './lease';
import type { QueueContext } from './queue-context';

/**
 * @internal Blocking reads of new messages on a connection of their own. A read asks for no
 * more messages than there are free slots (backpressure as pull, not as a buffer), and
 * reserves those slots first; whatever the read did not fill is given back.
 */
export class StreamReader {
  constructor(
    private readonly ctx: QueueContext,
    private readonly blocking: Redis,
  ) {}

  /** Creates the consumer group at the stream's start (tasks enqueued before any worker count). */
  async ensureGroup(): Promise<void> {
    try {
      await this.ctx.redis.xgroup('CREATE', this.ctx.keys.stream, this.ctx.group, '0', 'MKSTREAM');
    } catch (error) {
      if (!String((error as Error).message).includes('BUSYGROUP')) throw error;
    }
  }

  async read(): Promise<Handover> {
    const { slots, keys, group, consumer, config, lease } = this.ctx;
    // Messages read now could not start (see TaskRunner) and would wait for a recover: wait for
    // the lease instead (after a cut or a Redis restart, until the next beat is confirmed).
    if (!lease.isHeld()) {
      await new Promise((resolve) => setTimeout(resolve, config.heartbeatIntervalMs));
      return { entries: [], sentAt: 0 };
    }
    await slots.whenFree();
    const count = slots.beginRead();
    if (count === 0) {
      slots.endRead(0);
      return { entries: [], sentAt: 0 };
    }
    let entries: RawEntry[] = [];
    const sentAt = monotonicMs();
    try {
      const reply = (await this.blocking.xreadgroup(
        'GROUP',
        group,
        consumer,
        'COUNT',
        count,
        'BLOCK',
        config.blockMs,
        'STREAMS',
        keys.stream,
        '>',
      )) as [string, RawEntry[]][] | null;
      entries = reply?.[0]?.[1] ?? [];
    } catch (error) {
      slots.endRead(0);
      // The group vanishes with the stream (a Redis restarted without persistence, FLUSHALL).
      if (String((error as Error).message).includes('NOGROUP')) await this.ensureGroup();
      throw error;
    }
    slots.endRead(entries.length);
    return { entries, sentAt };
  }
}
