/**
 * @internal The longest event mark a subscriber reads (`<publisher>:<n>`; a worker writes about
 * 20 characters): a longer one is no worker's, and its event is delivered unfiltered.
 */
export const FLEET_EVENT_MARK_MAX = 64;
/** How far behind a publisher's newest number an event may still arrive first (reordered). */
const WINDOW = 4_096;
/** Publishers remembered; past this, the one heard from least recently is forgotten. */
const PUBLISHERS = 1_024;

interface Seen {
  newest: number;
  /** The numbers seen within WINDOW of `newest` (and, briefly, a reordered one just behind it). */
  readonly numbers: Set<number>;
}

/**
 * @internal Drops the events a subscriber already delivered. A worker marks each event it
 * publishes `<publisher>:<n>` (a publisher id drawn per relay, n counting up from 1): ioredis
 * resends a PUBLISH whose reply was lost with its connection, and Redis, which had run it,
 * delivers it again. An event whose number was seen, or that is more than WINDOW behind its
 * publisher's newest (a resend after a long cut; a reorder on a cluster, whose PUBLISHes of one
 * worker may go through different nodes, stays well within it), is a repeat. An event without a
 * mark (a worker of an older version) always passes.
 */
export class FleetEventRepeats {
  private readonly publishers = new Map<string, Seen>();

  /** True when the event marked `mark` was delivered already (it is recorded otherwise). */
  repeated(mark: unknown): boolean {
    if (typeof mark !== 'string' || mark.length > FLEET_EVENT_MARK_MAX) return false;
    const at = mark.lastIndexOf(':');
    const n = Number(mark.slice(at + 1));
    if (at < 1 || !Number.isSafeInteger(n) || n < 1) return false;
    const publisher = mark.slice(0, at);
    let seen = this.publishers.get(publisher);
    if (seen)
      this.publishers.delete(publisher); // re-inserted below: the most recent last
    else seen = { newest: 0, numbers: new Set() };
    this.publishers.set(publisher, seen);
    if (this.publishers.size > PUBLISHERS) this.publishers.delete(this.publishers.keys().next().value!);
    if (seen.numbers.has(n) || n <= seen.newest - WINDOW) return true;
    seen.numbers.add(n);
    if (n > seen.newest) {
      seen.newest = n;
      // Added in about increasing order: the ones out of the window are at the front.
      for (const old of seen.numbers) {
        if (old > n - WINDOW) break;
        seen.numbers.delete(old);
      }
    }
    return false;
  }
}
