/**
 * @internal The longest event mark a subscriber reads (`<publisher>:<token>`; a worker writes
 * about 20 characters): a longer one is no worker's, and its event is delivered unfiltered.
 */
export const FLEET_EVENT_MARK_MAX = 64;
/** Marks remembered per publisher; past this, its oldest is forgotten (a resend comes well within). */
const WINDOW = 4_096;
/** Publishers remembered; past this, the one heard from least recently is forgotten. */
const PUBLISHERS = 1_024;
/**
 * Marks remembered in all, a few megabytes: a forger can write marks of as many publishers as it
 * likes. Past this, the oldest mark of the publisher heard from least recently is forgotten.
 */
const MARKS = 65_536;

/**
 * @internal Drops the events a subscriber already delivered. A worker marks each event it
 * publishes `<publisher>:<token>` (a publisher id drawn per relay, a token drawn per event):
 * ioredis resends a PUBLISH whose reply was lost with its connection, and Redis, which had run
 * it, delivers it again. An event whose mark is among the last WINDOW heard of its publisher is a
 * repeat. An event without a mark (a worker of an older version) always passes.
 *
 * Only a mark heard before counts, never what a mark claims: anyone who can PUBLISH on the channel
 * writes marks too, and when a subscriber dropped every number far behind a publisher's newest,
 * one forged `<publisher>:<huge n>` silenced that worker for good. A token drawn per event cannot
 * be guessed ahead, even by one who reads the channel, so no forged mark drops a genuine event;
 * forged marks can only push genuine ones out of memory (a resend then delivered twice).
 */
export class FleetEventRepeats {
  /** Per publisher, its marks heard, oldest first; the publisher heard from least recently first. */
  private readonly publishers = new Map<string, Set<string>>();
  private marks = 0;

  /** True when the event marked `mark` was delivered already (it is recorded otherwise). */
  repeated(mark: unknown): boolean {
    if (typeof mark !== 'string' || mark.length > FLEET_EVENT_MARK_MAX) return false;
    const at = mark.lastIndexOf(':');
    if (at < 1 || at === mark.length - 1) return false;
    const publisher = mark.slice(0, at);
    let seen = this.publishers.get(publisher);
    if (seen)
      this.publishers.delete(publisher); // re-inserted below: the most recent last
    else seen = new Set();
    this.publishers.set(publisher, seen);
    if (this.publishers.size > PUBLISHERS) this.forgetLeastRecent(Infinity);
    if (seen.has(mark)) return true;
    seen.add(mark);
    this.marks++;
    if (seen.size > WINDOW) {
      seen.delete(seen.values().next().value!);
      this.marks--;
    }
    if (this.marks > MARKS) this.forgetLeastRecent(1);
    return false;
  }

  /** Forgets up to `count` of the oldest marks of the publisher heard from least recently. */
  private forgetLeastRecent(count: number): void {
    const [publisher, seen] = this.publishers.entries().next().value!;
    for (const old of seen) {
      if (count-- <= 0) break;
      seen.delete(old);
      this.marks--;
    }
    if (seen.size === 0) this.publishers.delete(publisher);
  }
}
