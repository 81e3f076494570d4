import { Inject, Injectable, Logger } from '@nestjs/common';
import { ReplyError } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { QueueKeys } from '../redis/keys';
import { cutText } from '../task/cut-text';
import { RedisConnections } from '../redis/redis-connections';
import type { StreamQueueConfig } from '../stream-queue.config';
import { STREAM_QUEUE_CONFIG } from '../stream-queue.constants';
import { StreamQueueEvents, type StreamQueueEvent } from '../stream-queue.events';
import {
  EVENTS_REFRESH_MS,
  EVENTS_WATCH_MS,
  FLEET_EVENT_DETAIL_MAX,
  FLEET_EVENT_MESSAGE_MAX,
  FLEET_EVENT_TEXT_MAX,
  FLEET_EVENT_TYPES,
} from '../client/fleet-events';

/** How often, at most, a worker warns that Redis refuses its events (after the first refusal). */
const REFUSED_WARN_MS = 10_000;
/** How often a worker that publishes events asks whether anyone still watches. */
const WATCH_CHECK_MS = 5_000;
/**
 * A watcher announces itself at every refresh: one heard within this is still there, whatever a
 * check says, unless the last watcher left after it. Its mark may be gone while it is (evicted,
 * lost in a failover, or set after the EXISTS ran: the announcement comes on another connection
 * than the check's reply).
 */
const HEARD_RECENTLY_MS = EVENTS_REFRESH_MS + WATCH_CHECK_MS;

interface Watch {
  until: number;
  checkedAt: number;
  checking: boolean;
  /** Checks sent: only the latest one's answer counts. */
  asked: number;
  /** When a watcher last announced itself (epoch ms, 0: never). */
  announcedAt: number;
  /** The last watcher left after the latest announcement: it is heard from no more. */
  left: boolean;
  buffer: object[];
}

/**
 * @internal Publishes this worker's task events on each queue's events channel, for
 * `QueueClient.events()` anywhere in the fleet, and only while someone watches: unwatched, an
 * event costs a map lookup, plus one EXISTS per queue every WATCH_CHECK_MS while events happen.
 * Watched, the events of one tick go as one PUBLISH (one per FLEET_EVENT_MESSAGE_MAX characters).
 * A watcher announces itself on the control channel (ConsumerHost forwards it to watched()) and
 * keeps its mark in the watch key alive with a TTL; the last one to leave says so there
 * (unwatched()), and the worker asks at once, so the events stop within a round trip rather than
 * when the marks would have lapsed.
 */
@Injectable()
export class FleetEventRelay {
  private readonly worker = `${hostname()}-${process.pid}`;
  /**
   * Each event goes out marked `<publisher>:<token>`, so a subscriber drops a repeat: ioredis
   * resends a PUBLISH whose reply was lost with its connection, which Redis had run
   * (FleetEventRepeats). Drawn per relay: two applications in one process share `worker`.
   */
  private readonly publisher = randomBytes(6).toString('base64url');
  private readonly logger = new Logger('StreamQueue');
  /** When this worker last warned that Redis refuses its events (see warnRefused). */
  private refusedWarnedAt?: number;
  private readonly watches = new Map<string, Watch>();
  private readonly stops: (() => void)[];
  /** The PUBLISHes sent and not answered yet, for close(). */
  private readonly publishing = new Set<Promise<void>>();

  constructor(
    @Inject(STREAM_QUEUE_CONFIG) private readonly config: StreamQueueConfig,
    private readonly connections: RedisConnections,
    events: StreamQueueEvents,
  ) {
    this.stops = FLEET_EVENT_TYPES.map((type) => events.on(type, (event) => this.relay(event)));
  }

  /** A watcher announced itself for `queue`. */
  watched(queue: string): void {
    const watch = this.watchOf(queue);
    watch.until = Date.now() + EVENTS_WATCH_MS;
    watch.checkedAt = Date.now();
    watch.announcedAt = Date.now();
    watch.left = false;
  }

  /**
   * The last watcher of `queue` left (no mark was alive as its own went): asked at once, also
   * with a check in flight, whose answer may predate the leave (only the latest answer counts).
   * Nothing to ask when neither publishing nor asking.
   */
  unwatched(queue: string): void {
    const watch = this.watchOf(queue);
    watch.left = true;
    if (watch.checking || Date.now() < watch.until) void this.check(queue, watch);
  }

  /**
   * Asks once whether each queue is watched, as a worker starts (after it subscribed to the
   * control channels): a watcher announces itself when it subscribes, so a worker started later
   * would learn of it only by its first event's check, dropping its events until the reply.
   */
  async checkWatched(queues: readonly string[]): Promise<void> {
    await Promise.all(queues.map((queue) => this.check(queue, this.watchOf(queue))));
  }

  /**
   * Publishes the events still buffered, at once, and stops listening: called as the connections
   * are about to close (ConsumerHost's last write, after the last settles were answered), not at
   * the application's shutdown hooks, which ran before a settle answered late (its wait cut by
   * shutdownTimeoutMs) had emitted its event. Resolves once the publishes were answered.
   */
  async close(): Promise<void> {
    for (const stop of this.stops.splice(0)) stop();
    for (const [queue, watch] of this.watches) this.flush(queue, watch);
    // Those sent before as well: auto-pipelined, a PUBLISH may still wait behind a pipeline that
    // is not answered yet, and the QUIT, never pipelined, would overtake it.
    await Promise.all(this.publishing);
  }

  private relay(event: StreamQueueEvent): void {
    const watch = this.watchOf(event.queue);
    const now = Date.now();
    if (now - watch.checkedAt > WATCH_CHECK_MS && !watch.checking) void this.check(event.queue, watch);
    if (now >= watch.until) return;
    // Drawn per event, not counted: a forger reading the channel cannot write the next one ahead.
    const mark = `${this.publisher}:${randomBytes(9).toString('base64url')}`;
    if (watch.buffer.push({ ...bounded(event), worker: this.worker, at: now, m: mark }) === 1) {
      setImmediate(() => this.flush(event.queue, watch));
    }
  }

  /** Publishes the buffered events of `queue`, each PUBLISH noted in `publishing` until answered. */
  private flush(queue: string, watch: Watch): void {
    const batch = watch.buffer;
    watch.buffer = [];
    const keys = new QueueKeys(this.config.prefix, queue);
    for (const message of messagesOf(batch)) {
      const published: Promise<void> = this.connections.commands
        .publish(keys.eventsChannel, message)
        .then(
          () => undefined,
          (error: Error) => this.warnRefused(error, `PUBLISH on ${keys.eventsChannel}`),
        )
        .finally(() => this.publishing.delete(published));
      this.publishing.add(published);
    }
  }

  /** Never rejects. */
  private check(queue: string, watch: Watch): Promise<void> {
    watch.checking = true;
    const asked = ++watch.asked;
    const keys = new QueueKeys(this.config.prefix, queue);
    // EXISTS, not PTTL: a watcher refreshes its mark every third of its TTL, so a watch seen now
    // stays for two thirds of it at least (and workers need no command beyond the module's own).
    // The key of earlier versions' watchers too: one command, both in the queue's slot.
    return this.connections.commands.exists(keys.eventsWatch, keys.eventsWatchBefore).then(
      (exists) => {
        if (asked !== watch.asked) return; // a later check (after a leave) decides
        watch.checking = false;
        watch.checkedAt = Date.now();
        if (exists > 0) watch.until = Date.now() + (EVENTS_WATCH_MS * 2) / 3;
        else if (watch.left || !this.heardRecently(watch)) watch.until = 0;
      },
      (error: Error) => {
        this.warnRefused(error, `EXISTS ${keys.eventsWatch} ${keys.eventsWatchBefore}`);
        if (asked !== watch.asked) return;
        // Refused or Redis away: ask again after the interval, not per event.
        watch.checking = false;
        watch.checkedAt = Date.now();
      },
    );
  }

  /**
   * Redis's ACL refusing a publish or a check drops every event of the queue for good, and the
   * subscribers, in other processes, cannot learn why: this worker says so, at the first refusal
   * and then at most every REFUSED_WARN_MS. Any other failure (Redis away) passes unsaid.
   */
  private warnRefused(error: Error, command: string): void {
    if (!(error instanceof ReplyError) || !/NOPERM/.test(error.message)) return;
    const now = Date.now();
    if (this.refusedWarnedAt !== undefined && now - this.refusedWarnedAt < REFUSED_WARN_MS) return;
    this.refusedWarnedAt = now;
    this.logger.warn(
      `Redis refused ${command} (${error.message}): this worker's task events reach no events() subscriber until its user is granted it.`,
    );
  }

  private heardRecently(watch: Watch): boolean {
    return Date.now() - watch.announcedAt <= HEARD_RECENTLY_MS;
  }

  private watchOf(queue: string): Watch {
    let watch = this.watches.get(queue);
    if (!watch)
      this.watches.set(
        queue,
        (watch = {
          until: 0,
          checkedAt: 0,
          checking: false,
          asked: 0,
          announcedAt: 0,
          left: false,
          buffer: [],
        }),
      );
    return watch;
  }
}

/**
 * An event as published: its detail cut past FLEET_EVENT_DETAIL_MAX characters, its task id,
 * name and key past FLEET_EVENT_TEXT_MAX (a dead-lettered foreign entry's are as written), so
 * one event stays a few kilobytes for every subscriber.
 */
function bounded(event: StreamQueueEvent): StreamQueueEvent {
  return {
    ...event,
    taskId: cut(event.taskId, FLEET_EVENT_TEXT_MAX),
    name: cut(event.name, FLEET_EVENT_TEXT_MAX),
    key: cut(event.key, FLEET_EVENT_TEXT_MAX),
    detail: cut(event.detail, FLEET_EVENT_DETAIL_MAX),
  };
}

/** A text as published: at most `max` characters, then a marker of its length. */
function cut(text: string | undefined, max: number): string | undefined {
  return text === undefined ? undefined : cutText(text, max);
}

/**
 * A tick's events as JSON arrays of at most FLEET_EVENT_MESSAGE_MAX characters each (a subscriber
 * parses no longer message); one event is always shorter (see FLEET_EVENT_MESSAGE_MAX).
 */
function messagesOf(events: readonly object[]): string[] {
  const messages: string[] = [];
  let items: string[] = [];
  let length = 2; // the brackets
  for (const event of events) {
    const item = JSON.stringify(event);
    if (items.length > 0 && length + 1 + item.length > FLEET_EVENT_MESSAGE_MAX) {
      messages.push(`[${items.join(',')}]`);
      items = [];
      length = 2;
    }
    length += item.length + (items.length > 0 ? 1 : 0);
    items.push(item);
  }
  if (items.length > 0) messages.push(`[${items.join(',')}]`);
  return messages;
}
