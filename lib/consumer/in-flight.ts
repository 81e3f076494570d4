import type { TaskMessage } from '../task/task-message';
import { Delivery } from './delivery';
import { Slot } from './slots';

/**
 * @internal Deliveries held by one queue's consumer, by stream entry id. The sweep consults it
 * so that only pending messages this process does not know about are recovered (a read whose
 * reply was lost with its connection), and aborts go through it.
 */
export class InFlight {
  private readonly deliveries = new Map<string, Delivery>();
  /**
   * When (monotonicMs) the sweep last took back entries of this consumer that it held in Redis
   * but not here. A reply to a request sent before then may hand over an entry that was taken
   * back, run and settled meanwhile: such a reply proves nothing and is checked again in Redis.
   */
  recoveredAt = -Infinity;

  /** Holds a delivery; the consumer hands it the slot its entry held (see Slots.adopt). */
  add(message: TaskMessage, provenAt?: number, deliveries?: number, slot: Slot = Slot.detached()): Delivery {
    const delivery = new Delivery(message, provenAt, deliveries, slot);
    this.deliveries.set(message.entryId, delivery);
    return delivery;
  }

  has(entryId: string): boolean {
    return this.deliveries.has(entryId);
  }

  /** Returns whether the entry was held. */
  delete(entryId: string): boolean {
    return this.deliveries.delete(entryId);
  }

  get size(): number {
    return this.deliveries.size;
  }

  /** The deliveries that match. */
  matching(match: (d: Delivery) => boolean): Delivery[] {
    return [...this.deliveries.values()].filter(match);
  }

  /** Aborts every delivery that matches, with `reason` as the signal's reason. */
  abort(reason: Error, match: (d: Delivery) => boolean = () => true): Delivery[] {
    const hit = [...this.deliveries.values()].filter((d) => match(d) && !d.isAborted);
    hit.forEach((d) => d.abort(reason));
    return hit;
  }
}
