import { ReplyError, type Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { Observable } from 'rxjs';
import { onSubscriberReady } from '../redis/cluster-subscriber';
import { isClusterClient } from '../redis/connection-check';
import type { QueueKeys } from '../redis/keys';
import { eventsWatchScript } from '../scripts/events-watch.script';
import { longestCut } from '../task/cut-text';
import type { StreamQueueEvent, StreamQueueEventType } from '../stream-queue.events';
import { FleetEventRepeats } from './fleet-event-repeats';

/** @internal How long a subscriber's mark in the watch lasts unless refreshed. */
export const EVENTS_WATCH_MS = 30_000;
/** @internal How often a subscriber refreshes its mark and announces itself again. */
export const EVENTS_REFRESH_MS = EVENTS_WATCH_MS / 3;
/**
 * How far ahead a mark in the watch may lapse before the next script call prunes it: one further
 * was written by anyone, or set before Redis's clock went back by more than a mark lasts (a
 * smaller step back, or a failover to a replica a little behind, keeps the marks).
 */
const MARK_AHEAD_MAX_MS = 2 * EVENTS_WATCH_MS;
/**
 * @internal The longest `detail` a worker publishes, in characters: an error message can be of any
 * size, and every watcher would get it whole. A longer one is cut, with a marker saying its length.
 */
export const FLEET_EVENT_DETAIL_MAX = 2_000;
/**
 * @internal The longest task id, name and key a worker publishes, in characters: no valid task
 * has longer (ids 256, names 128, keys 1,024), but anyone can XADD an entry, and its dead letter's
 * event names its fields as written. A longer one is cut as a detail is.
 */
export const FLEET_EVENT_TEXT_MAX = 1_024;
/**
 * @internal The longest message a worker publishes on an events channel, in characters (a JSON
 * array of events), and the longest a subscriber parses: JSON.parse of a foreign message of
 * megabytes, nested arrays above all, holds the subscriber's process for seconds. A worker splits
 * a longer batch; the largest event it can publish (every text at its bound, each character
 * written as a 6-character escape) is about 32 000 characters, so any one fits.
 */
export const FLEET_EVENT_MESSAGE_MAX = 65_536;
/** @internal What a subscriber says on the control channel (events-watch.lua): workers start publishing at once. */
export const WATCH_MESSAGE = 'watch';
/** @internal Said there when the last subscriber left (events-watch.lua): workers ask again at once. */
export const UNWATCH_MESSAGE = 'unwatch';

/** @internal The event types workers publish (FleetEventRelay), the only ones a subscriber delivers. */
export const FLEET_EVENT_TYPES: readonly StreamQueueEventType[] = [
  'completed',
  'failed',
  'retry-scheduled',
  'dead-lettered',
  'superseded',
  'lease-lost',
  'reclaimed',
  'completion-refused',
];

/** A task event of any worker of the fleet, as published through Redis. @publicApi */
export interface FleetEvent extends StreamQueueEvent {
  /** The worker process that published it (host-pid). */
  readonly worker: string;
  /** When it published it (the worker's clock, epoch ms). */
  readonly at: number;
  /**
   * As the worker's event says, cut past 2 000 characters (an error message of any size would
   * reach every subscriber): then followed by `… [cut: <its length> characters]`.
   */
  readonly detail?: string;
  /** As the worker's event says, cut past 1 024 characters as `detail` is (a foreign entry's may be of any size). */
  readonly taskId?: string;
  /** As the worker's event says, cut past 1 024 characters as `detail` is. */
  readonly name?: string;
  /** As the worker's event says, cut past 1 024 characters as `detail` is. */
  readonly key?: string;
}

/**
 * @internal Where a subscription to the fleet's events gets its connection (RedisConnections):
 * one of its own, watched for replies, and closed with its watch; and, when the application's
 * close ends it, where its leave waits to be answered before the QUIT.
 */
export interface SubscriberConnections {
  dedicated(purpose: string, options: { watched: boolean }): Redis;
  release(redis: Redis): void;
  readonly isClosed: boolean;
  beforeQuit(write: () => Promise<void>): void;
}

/**
 * @internal The fleet's events of one queue. Workers publish them on the queue's events channel
 * only while it is watched (see FleetEventRelay): on subscribe this sets its own mark in the
 * watch (with a TTL it keeps refreshing) and tells the workers on the control channel, again
 * whenever its connection comes back; on unsubscribe it takes its mark out, and the last one out
 * tells the workers to stop (events-watch.lua). Pub/sub is fire-and-forget: events published
 * while this subscriber reconnects are lost, and so are those published into a connection gone
 * half-open until its watch drops it (within about a lease: see watchReplies); none is replayed.
 * A worker's PUBLISH resent by ioredis (its reply lost) repeats its events: they are delivered
 * once (FleetEventRepeats). Its connection ended for good is made anew while the command
 * connection lives; with that ended too, the Observable errors. So it does when Redis's ACL
 * refuses its watch (no worker would publish to it).
 */
export function fleetEvents(
  commands: Redis,
  connections: SubscriberConnections,
  keys: QueueKeys,
): Observable<FleetEvent> {
  return new Observable<FleetEvent>((subscriber) => {
    // Its own mark: one subscriber leaving takes out no other's (in this process or another).
    const id = randomBytes(9).toString('base64url');
    let watched = false;
    const watch = async () => {
      // Unsubscribed while its SUBSCRIBE was in flight: a watch now would make the workers
      // publish to no one for the mark's whole TTL.
      if (subscriber.closed) return;
      watched = true;
      await eventsWatchScript(keys, id, EVENTS_WATCH_MS, MARK_AHEAD_MAX_MS)
        .run(commands)
        .catch((error: Error) => {
          // Refused by an ACL, the watch is refused at every refresh, and without it no worker
          // publishes: the subscription would hear nothing for good. Anything else (Redis away,
          // a failover) goes again at the next refresh.
          if (error instanceof ReplyError && /NOPERM/.test(error.message)) subscriber.error(watchRefused(keys, error));
        });
    };
    const refresh = setInterval(() => void watch(), EVENTS_REFRESH_MS);
    refresh.unref();
    // A PUBLISH resent after its reply was lost delivers its events again: each goes once.
    const repeats = new FleetEventRepeats();
    const heard = (channel: string, message: string) => {
      if (channel !== keys.eventsChannel) return;
      if (message.length > FLEET_EVENT_MESSAGE_MAX) return; // no worker's: dropped unparsed
      let events: unknown;
      try {
        events = JSON.parse(message);
      } catch {
        return; // not ours
      }
      if (!Array.isArray(events)) return;
      for (const item of events) {
        const event = fleetEventOf(item, keys.queue);
        if (event && !repeats.repeated((item as { m?: unknown }).m)) subscriber.next(event);
      }
    };
    // Redis refusing the SUBSCRIBE (an ACL without the channel) ends the Observable; one lost with
    // the connection (ioredis fails queued commands after maxRetriesPerRequest) goes again when
    // the connection is back, as the events are lost only while it is away.
    let subscribing = false;
    const subscribe = (on: Redis) => {
      subscribing = true;
      on.subscribe(keys.eventsChannel).then(
        () => {
          if (on !== connection) return;
          subscribing = false;
          return watch();
        },
        (error: Error) => {
          if (on !== connection) return;
          subscribing = false;
          if (error instanceof ReplyError) subscriber.error(error);
        },
      );
    };
    let connection!: Redis;
    let tornDown = false;
    // Watched: gone half-open, it would hear nothing until TCP gave up (PING is answered in
    // subscriber mode); dropped, ioredis reconnects (on a cluster, makes its subscriber connection
    // anew) and subscribes again. Its errors are logged by RedisConnections.
    const open = () => {
      const opened = (connection = connections.dedicated('events', { watched: true }));
      // Its SUBSCRIBE after a drop is ours alone (below): ioredis's own, sent with no handler,
      // rejected unhandled when Redis refused it (an ACL change took the channel from the user,
      // and Redis dropped the connection), which ends a Node process. A cluster's is handled.
      if (!isClusterClient(opened)) opened.options.autoResubscribe = false;
      opened.on('message', heard);
      // Back after a drop, where a Redis restart may have lost the key: subscribed again (Redis
      // ignores a repeat) and only then watching, at once rather than at the next refresh. On a
      // cluster, also when ioredis made its subscriber connection anew (onSubscriberReady).
      onSubscriberReady(opened, () => subscribing || subscribe(opened));
      opened.once('end', () => reopen(opened));
      subscribe(opened);
    };
    // Ended for good (a retryStrategy that gave up): made anew while the command connection lives,
    // once it answers; with it ended too, nothing comes back and the Observable errors. It used to
    // stay open and hear nothing, for the process's life.
    const reopenOnceReady = () => {
      commands.off('ready', reopenOnceReady);
      commands.off('end', reopenOnceReady);
      reopen(connection);
    };
    const reopen = (ended: Redis) => {
      if (tornDown || connections.isClosed || ended !== connection) return;
      if (commands.status === 'end') {
        subscriber.error(new Error(`events(): the connection to Redis ended for good (its retryStrategy gave up).`));
        return;
      }
      if (commands.status !== 'ready') {
        commands.once('ready', reopenOnceReady).once('end', reopenOnceReady);
        return;
      }
      connections.release(ended);
      subscribing = false;
      open();
    };
    open();
    return () => {
      tornDown = true;
      clearInterval(refresh);
      commands.off('ready', reopenOnceReady).off('end', reopenOnceReady);
      // Closed, not QUIT: a QUIT waits for an answer that a half-open or unreachable Redis never sends.
      connections.release(connection);
      // Sent after any watch of its own on the same connection, so it runs after them. Lost (the
      // process killed, Redis away), the mark lapses on its own within EVENTS_WATCH_MS.
      if (!watched) return;
      const left = eventsWatchScript(keys, id, 0, MARK_AHEAD_MAX_MS)
        .run(commands)
        .then(
          () => undefined,
          () => undefined,
        );
      // Ended by the application's close: the QUIT, never auto-pipelined, would go out before
      // this leave (flushed on the next tick), which then never ran and left the mark for 30 s.
      if (connections.isClosed) connections.beforeQuit(() => left);
    };
  });
}

/** Why a subscription ends when Redis's ACL refuses its watch, with the refusal as its cause. */
function watchRefused(keys: QueueKeys, refusal: Error): Error {
  return new Error(
    `events(): Redis refused the watch of queue "${keys.queue}" (events-watch.lua): ${refusal.message}. ` +
      `Workers publish only while a subscriber's mark is in ${keys.eventsWatch}, so this subscription would ` +
      `hear nothing: grant its user EVALSHA and EVAL, write access to ${keys.eventsWatch}, read access to ` +
      `${keys.eventsWatchBefore}, and PUBLISH on ${keys.controlChannel}.`,
    { cause: refusal },
  );
}

/** The text fields of an event, with the most characters a worker publishes in each. */
const TEXT_FIELDS = {
  taskId: longestCut(FLEET_EVENT_TEXT_MAX),
  name: longestCut(FLEET_EVENT_TEXT_MAX),
  key: longestCut(FLEET_EVENT_TEXT_MAX),
  detail: longestCut(FLEET_EVENT_DETAIL_MAX),
} as const;

/**
 * A published item as a new event of `queue`, or undefined when no worker can have written it.
 * Anyone who can PUBLISH writes to the channel, in JSON of their own: an item of another shape
 * is dropped, so a subscriber's code reading `e.type` never throws on it (which would end that
 * subscriber's Observable), and a field past what a worker publishes, a time that is no finite
 * count of ms, a field no worker writes (an own `__proto__` among them, which `Object.assign`
 * would make a copy's prototype) never reaches it.
 */
function fleetEventOf(item: unknown, queue: string): FleetEvent | undefined {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return undefined;
  const { type, queue: itemQueue, worker, at, durationMs } = item as Record<string, unknown>;
  if (!FLEET_EVENT_TYPES.includes(type as StreamQueueEventType) || itemQueue !== queue) return undefined;
  if (typeof worker !== 'string' || worker.length > FLEET_EVENT_TEXT_MAX || !isMs(at)) return undefined;
  if (durationMs !== undefined && !isMs(durationMs)) return undefined;
  const event: Record<string, unknown> = { type, queue, worker, at };
  for (const [field, max] of Object.entries(TEXT_FIELDS)) {
    const text = (item as Record<string, unknown>)[field];
    if (text === undefined) continue;
    if (typeof text !== 'string' || text.length > max) return undefined;
    event[field] = text;
  }
  if (durationMs !== undefined) event.durationMs = durationMs;
  return event as unknown as FleetEvent;
}

/** A time or duration as a worker writes it: a finite number of ms, not below zero. */
function isMs(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}
