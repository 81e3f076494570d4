import type { Handover } from './intake';
import type { QueueContext } from './queue-context';
import type { SharedStreamReader } from './shared-stream-reader';

const NOTHING: Handover = { entries: [], sentAt: 0 };

/**
 * @internal One queue's share of the process's blocking reads: what its pipeline calls instead of
 * reading on a connection of its own. A read waits for a free slot, then joins the shared read,
 * which answers it once entries arrived for this queue (at most its free slots, held meanwhile),
 * or fails it with the error of the call.
 */
export class QueueReads {
  private pending?: { resolve(handover: Handover): void; reject(error: unknown): void };
  private closed = false;

  constructor(
    readonly ctx: QueueContext,
    private readonly shared: SharedStreamReader,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  /** Creates the consumer group at the stream's start (tasks enqueued before any worker count). */
  async ensureGroup(): Promise<void> {
    try {
      await this.ctx.redis.xgroup('CREATE', this.ctx.keys.stream, this.ctx.group, '0', 'MKSTREAM');
    } catch (error) {
      if (!String((error as Error).message).includes('BUSYGROUP')) throw error;
    }
  }

  async read(): Promise<Handover> {
    await this.ctx.slots.whenFree();
    if (this.closed) return NOTHING;
    return new Promise<Handover>((resolve, reject) => {
      this.pending = { resolve, reject };
      this.shared.join(this);
    });
  }

  /**
   * No read after this one. A read already sent still delivers what it got (the call is cut
   * short, so stopping does not wait out blockMs); one not sent yet resolves with nothing.
   */
  close(): void {
    this.closed = true;
    this.shared.leave(this);
  }

  /** Answers the read in progress (the shared reader's side). */
  deliver(handover: Handover = NOTHING): void {
    const pending = this.pending;
    this.pending = undefined;
    pending?.resolve(handover);
  }

  fail(error: unknown): void {
    const pending = this.pending;
    this.pending = undefined;
    pending?.reject(error);
  }
}
