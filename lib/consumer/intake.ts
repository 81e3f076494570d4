import { isUtf8 } from 'node:buffer';
import { runScript } from '../redis/scripts';
import { isMalformed, parseEntry, type TaskMessage } from '../task/task-message';
import type { Delivery } from './in-flight';
import type { QueueContext } from './queue-context';

/** A raw stream entry as ioredis returns it. */
export type RawEntry = [id: string, fields: string[] | null];

const RUN = 1;
const STALE = 0;
const NOT_CLAIMED = -1;
const DEFERRED = 2;

/**
 * @internal Turns entries this consumer was handed (read, reclaimed or recovered; each holding a
 * reserved slot) into deliveries ready to run. Malformed entries are dead-lettered; keyed ones
 * pass the `claim` script (the head check) and run only if it says so. Every entry is marked in
 * flight before the first await, so the sweep never recovers what this process already holds.
 */
export class Intake {
  constructor(private readonly ctx: QueueContext) {}

  async admit(entries: RawEntry[]): Promise<Delivery[]> {
    const { inFlight, slots } = this.ctx;
    const fresh = entries.filter(([entryId]) => !inFlight.has(entryId));
    slots.release(entries.length - fresh.length);
    const parsed = fresh.map(([entryId, fields]) => parseEntry(entryId, fields, this.ctx.config.maxPayloadBytes));
    let deliveries = parsed.filter((m): m is TaskMessage => !isMalformed(m)).map((m) => inFlight.add(m));
    const malformed = parsed.filter(isMalformed);
    const notUtf8 = await this.notUtf8(fresh.filter(([, fields]) => fields?.some((f) => f.includes('\uFFFD'))));
    if (notUtf8.length > 0) {
      // Only those that parsed: one malformed already is dead-lettered once, for its first reason.
      for (const bad of notUtf8) if (inFlight.delete(bad.entryId)) malformed.push(bad);
      deliveries = deliveries.filter((d) => inFlight.has(d.message.entryId));
    }

    await Promise.all(malformed.map((m) => this.deadLetter(m.entryId, m.reason)));
    const keyed = deliveries.filter((d) => d.message.key !== undefined);
    if (keyed.length === 0) return deliveries;

    let codes: number[];
    try {
      codes = await this.claim(keyed.map((d) => d.message));
    } catch (error) {
      // Still pending under this consumer: the sweep's recovery admits them again later.
      this.ctx.logger.warn(`Claiming ${keyed.length} keyed run(s) failed: ${(error as Error).message}`);
      codes = keyed.map(() => NOT_CLAIMED);
    }
    const skipped = new Set<Delivery>();
    keyed.forEach((d, i) => {
      if (codes[i] === RUN) return;
      skipped.add(d);
      this.drop(d.message.entryId);
      if (codes[i] === DEFERRED) this.ctx.delayedAdded();
      if (codes[i] === STALE) {
        const m = d.message;
        this.ctx.events.emit({
          type: 'superseded',
          queue: this.ctx.queue,
          taskId: m.id,
          name: m.name,
          key: m.key,
          detail: 'head',
        });
      }
    });
    return deliveries.filter((d) => !skipped.has(d));
  }

  /**
   * ioredis decodes replies as UTF-8 and turns each invalid byte into U+FFFD: an entry showing
   * one is read again as bytes, and is malformed if they are not UTF-8 (altered data never runs).
   */
  private async notUtf8(entries: RawEntry[]): Promise<{ entryId: string; reason: string }[]> {
    const found: { entryId: string; reason: string }[] = [];
    for (const [entryId] of entries) {
      const [entry] = await this.ctx.redis.xrangeBuffer(this.ctx.keys.stream, entryId, entryId);
      const bad = entry ? entry[1].findIndex((b) => !isUtf8(b)) : -1;
      if (bad >= 0)
        found.push({ entryId, reason: `field "${entry[1][bad - (bad % 2)].toString()}" is not valid UTF-8` });
    }
    return found;
  }

  private claim(messages: TaskMessage[]): Promise<number[]> {
    const { keys, group, consumer } = this.ctx;
    const args: (string | number)[] = [group, consumer, deferDelayMs(this.ctx.config.sweepIntervalMs)];
    for (const m of messages) args.push(m.entryId, m.generation);
    return runScript<number[]>(
      this.ctx.redis,
      'claim',
      [keys.stream, keys.delayed, ...messages.map((m) => keys.keyState(m.key!))],
      args,
    );
  }

  private async deadLetter(entryId: string, reason: string): Promise<void> {
    const { keys, group, consumer, config, logger } = this.ctx;
    try {
      await runScript(
        this.ctx.redis,
        'dead-letter',
        [keys.stream, keys.deadLetter],
        [group, consumer, entryId, reason, config.deadLetterMaxLen],
      );
      this.ctx.events.emit({ type: 'dead-lettered', queue: this.ctx.queue, detail: reason });
      logger.warn(`Stream entry ${entryId} on queue "${this.ctx.queue}" dead-lettered: ${reason}.`);
    } catch (error) {
      // Left pending under this consumer: the sweep's recovery delivers it to us again.
      logger.warn(`Could not dead-letter entry ${entryId}: ${(error as Error).message}`);
    } finally {
      this.ctx.slots.release();
    }
  }

  private drop(entryId: string): void {
    this.ctx.inFlight.delete(entryId);
    this.ctx.slots.release();
  }
}

/** A run deferred behind an older generation of its key is retried about this much later. */
function deferDelayMs(sweepIntervalMs: number): number {
  return Math.min(250, sweepIntervalMs);
}
