import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { ReplyError, type Redis } from 'ioredis';
import {
  ApplicationClosedError,
  RedisUnreachableError,
  ResultChannelRefusedError,
  StreamQueueError,
  TaskTimeoutError,
} from '../errors';
import { raceTimeout } from '../race-timeout';
import {
  connectSubscriber,
  onSubscriberReady,
  subscriberReady,
  unseenSubscriber,
  UNSEEN_POLL_MS,
} from '../redis/cluster-subscriber';
import { closedForGood, endedForGoodReason } from '../redis/connection-end';
import { isClusterClient } from '../redis/connection-check';
import { isGivenUpByRetries } from '../redis/unanswered-given-up';
import { RedisConnections } from '../redis/redis-connections';
import type { QueueKeys } from '../redis/keys';
import {
  afterFailure,
  mayRunAgain,
  parseDoneMessage,
  readSettled,
  settledByToken,
  settledError,
  type DoneKind,
  type Settled,
  type TaskRef,
} from './settled-state';

interface Waiter {
  /** The done channel it listens on. */
  readonly channel: string;
  /** Reads the task's state; settles the wait when it is settled. */
  check(): Promise<unknown>;
  /** Settles the wait from a done token (reading the stored result for `c` and `f`). */
  done(kind: DoneKind): void;
  /**
   * Reads again what a read lost with the command connection did not answer: the stored result
   * of a done token heard, else the task's state (check).
   */
  reread(): Promise<unknown>;
  abandon(error: Error): void;
  /**
   * Redis refused the SUBSCRIBE to its channel: it reads the task's state once (settled meanwhile,
   * it answers), else rejects with ResultChannelRefusedError rather than wait deaf.
   */
  refused(refusal: Error): void;
}

/**
 * How long, at least, the last read of a timed-out wait may take: a result({ timeoutMs: 0 }) of a
 * settled task gets its answer, a round trip after its timer, rather than a timeout.
 */
const LAST_READ_MIN_MS = 1_000;

/** A channel this process listens on, and how many waits need it. */
interface Channel {
  readonly subscribed: Promise<unknown>;
  waits: number;
  /** Made while the subscriber was not ready: settles `subscribed` once it is (onSubscriberReady). */
  answered?: () => void;
}

/**
 * @internal Waits for task results without polling: subscribe to the queue's done channel first,
 * then read the task's state, so a task that settled before the wait began is found by the read,
 * and one after it by the message. With the subscriber not ready, the state is read at once too,
 * and SUBSCRIBEs wait for it to be (subscriberReady). Messages published while the subscriber
 * reconnects are lost, so every wait reads its state again once resubscribed; a wait that times
 * out reads it once more, for what a subscriber not yet listening missed. A read ioredis gave up
 * with the command connection down is made again once it is ready. A channel is unsubscribed when
 * its last wait ends: a process that waited once does not receive every completion of the queue
 * forever. On a cluster whose subscriber connection this ioredis does not show, the waits poll
 * (poll).
 */
@Injectable()
export class ResultWaiter implements OnApplicationShutdown {
  private subscriber?: Redis;
  private closed = false;
  /** The application's teardown began (closing): its own hooks may close a client handed in. */
  private teardown = false;
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly channels = new Map<string, Channel>();
  /** Channels whose last wait ended while the subscriber was not ready: unsubscribed once it is. */
  private readonly unsubscribing = new Set<string>();

  /** The waits read again what a read lost with the connection did not answer (Waiter.reread). */
  private readonly onCommandsReady = () => {
    this.renewEnded();
    this.waiters.forEach((set) => set.forEach((w) => void w.reread()));
  };

  /**
   * A command connection ended for good (its retryStrategy gave up, or it was closed under the
   * application) is never ready again: no wait could read its task's state or stored result, and
   * one with no timeout lasted until app.close(). They end now, typed as any call Redis is lost to.
   */
  private readonly onCommandsEnded = () => {
    if (!this.closed) this.abandonAll((taskId) => this.commandsEnded(taskId));
  };

  /**
   * The application's teardown began (ConsumerLifecycleModule, first of its hooks). A client
   * handed in that ends from now on was closed by the application (a provider of its own quits it
   * in onModuleDestroy, before this module's shutdown): the waits end as at app.close(), with
   * ApplicationClosedError, not as if Redis were lost. Waits go on meanwhile (a draining handler's).
   */
  closing(): void {
    this.teardown = true;
  }

  /** The next round of reads of the waits' task states, while they poll (see poll). */
  private polling?: NodeJS.Timeout;

  /** The command connection whose 'ready' and 'end' this waiter listens to (watchCommands). */
  private watched?: Redis;

  constructor(private readonly connections: RedisConnections) {}

  /**
   * The command connection's 'ready' and 'end' matter only to waits in progress: listened to from
   * the first wait to the last. Hung on it from the constructor, they stayed on a client handed
   * in after a failed init (Nest runs no shutdown hook then), two per app given up on. A
   * subscriber that ended for good while the command connection was down too (see
   * createSubscriber) is made again once that is back ('ready'), for the waits in progress.
   */
  private watchCommands(on: boolean): void {
    if (on && !this.watched) {
      this.watched = this.connections.commands;
      this.watched.on('ready', this.onCommandsReady).on('end', this.onCommandsEnded);
    } else if (!on && this.watched) {
      this.watched.off('ready', this.onCommandsReady).off('end', this.onCommandsEnded);
      this.watched = undefined;
    }
  }

  wait<T>(keys: QueueKeys, ref: TaskRef, timeoutMs: number): Promise<T> {
    const taskId = ref.id;
    if (this.closed) {
      return Promise.reject(
        new ApplicationClosedError(`The application is closed: cannot wait for the result of task ${taskId}.`),
      );
    }
    const redis = this.connections.commands;
    if (closedForGood(redis)) return Promise.reject(this.commandsEnded(taskId));
    let waiter!: Waiter;
    // Set once a done message said the task settled: the read of its stored result that follows.
    let resultRead: Promise<unknown> | undefined;
    // The done token whose read of the stored result was lost with the command connection.
    let heardUnread: DoneKind | undefined;
    // How many done tokens of the task this wait heard: only the latest one's read settles it.
    let tokensHeard = 0;
    const answer = new Promise<T>((resolve, reject) => {
      let settled = false;
      const finish = () => {
        settled = true;
        const set = this.waiters.get(taskId);
        set?.delete(waiter);
        if (set?.size === 0) this.waiters.delete(taskId);
        if (this.waiters.size === 0) this.watchCommands(false);
        this.release(keys.doneChannel);
      };
      const settle = (state: Settled) => {
        if (settled || state.state === 'pending') return;
        finish();
        const error = settledError(taskId, state);
        if (error) reject(error);
        else resolve((state as { value?: T }).value as T);
      };
      // Redriven since its failure, a task waits or runs again: the wait goes on for that run
      // (the README's promise for a redriven task), unless its state says it ended meanwhile.
      const readAfterFailure = (raw: string | null): Promise<Settled> =>
        readSettled(redis, keys, ref).then(
          (state) => afterFailure(taskId, state, raw),
          (error: Error) => {
            if (isTooManyGroups(error)) return settledByToken(taskId, 'f', raw);
            throw error;
          },
        );
      let refusedOnce = false;
      waiter = {
        channel: keys.doneChannel,
        // A stream of too many consumer groups hides whether the group read past the entry
        // (readSettled): wait for the completion message, which still comes. A read lost with
        // the command connection is made again once it is back (reread), and at the timeout.
        check: () =>
          readSettled(redis, keys, ref).then(settle, (error: Error) =>
            isTooManyGroups(error) || isLostWithConnection(error) ? undefined : waiter.abandon(error),
          ),
        done: (kind) => {
          const nth = ++tokensHeard;
          if (kind === 's' || kind === 'x') return settle(settledByToken(taskId, kind, null));
          heardUnread = undefined;
          // Tokens come in the order their runs settled: once a later one is heard (a redriven
          // run's), its own read answers, not this one's. With nothing kept (resultTtlMs 0) this
          // read may find nothing left by then, which a failure's token reads as that failure.
          const latest = () => nth === tokensHeard;
          // A result that cannot be read rejects inside then(): caught below, never left unhandled.
          resultRead = redis
            .get(keys.result(taskId))
            .then((raw) => (mayRunAgain(ref, kind, raw) ? readAfterFailure(raw) : settledByToken(taskId, kind, raw)))
            .then((state) => {
              if (latest()) settle(state);
            })
            .catch((error: Error) => {
              if (!latest()) return;
              if (isLostWithConnection(error)) heardUnread = kind;
              else waiter.abandon(error);
            });
        },
        // The token is kept, not the state read instead: with nothing stored (resultTtlMs 0) a
        // gone entry reads completed, where the token said failed.
        reread: () => {
          if (heardUnread === undefined) return waiter.check();
          waiter.done(heardUnread);
          return resultRead!;
        },
        abandon: (error) => {
          if (settled) return;
          finish();
          reject(error);
        },
        refused: (refusal) => {
          if (settled || refusedOnce) return;
          refusedOnce = true;
          void waiter
            .check()
            .then(() => waiter.abandon(new ResultChannelRefusedError(taskId, keys.doneChannel, refusal)));
        },
      };
      // Registered before subscribing: a message that arrives with the SUBSCRIBE reply is not missed.
      this.watchCommands(true);
      if (!this.waiters.has(taskId)) this.waiters.set(taskId, new Set());
      this.waiters.get(taskId)!.add(waiter);
      // A subscriber not ready (connecting: a process's first result(); its connection not
      // accepted yet) is subscribed only once it is: a task settled before the wait is read now
      // too, on the command connection, where it waited for that (its timeout, or for good with
      // none). The read after the SUBSCRIBE still covers a settle in between.
      const subscriber = this.listening();
      if (!subscriberReady(subscriber)) void waiter.check();
      if (unseenSubscriber(subscriber)) {
        this.poll();
        return;
      }
      this.acquire(keys.doneChannel).then(
        () => {
          if (!settled) void waiter.check();
        },
        (error: Error) => waiter.refused(error),
      );
    });
    // Infinity: no timer (Node would turn it into 1 ms).
    if (timeoutMs === Infinity) return answer;
    // The timeout is taken once the replies that came meanwhile are read (raceTimeout): with the
    // event loop blocked past timeoutMs, a done message waiting in a socket wins. Then the task's
    // state is read once more, on the command connection: the subscriber may not have listened
    // (still connecting, the caller blocking the loop right after result(); reconnecting when the
    // done message was published, which is lost), so a task settled in time is found whatever the
    // order of the SUBSCRIBE, the settle and the timer. That read, and the read of the stored
    // result a done message heard by then started, get up to timeoutMs more (LAST_READ_MIN_MS at
    // least): never an unbounded wait on a Redis that froze meanwhile.
    return raceTimeout(answer, timeoutMs, async () => {
      const reads = [resultRead, waiter.reread()].filter((read) => read !== undefined);
      await raceTimeout(Promise.all(reads), Math.max(timeoutMs, LAST_READ_MIN_MS), () => undefined);
      waiter.abandon(new TaskTimeoutError(`No result for task ${taskId} within ${timeoutMs} ms.`));
      return answer;
    });
  }

  /** Pending waits end now, rather than holding the process open until their timeouts. */
  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    clearTimeout(this.polling);
    this.watchCommands(false);
    this.subscriber = undefined;
    this.abandonAll(closedWhileWaiting);
    this.channels.clear();
    this.unsubscribing.clear();
  }

  private abandonAll(errorFor: (taskId: string) => Error): void {
    // Copies: abandon() removes each waiter from these collections while we iterate.
    for (const [taskId, set] of Array.from(this.waiters)) {
      for (const waiter of Array.from(set)) waiter.abandon(errorFor(taskId));
    }
  }

  private commandsEnded(taskId: string): StreamQueueError {
    if (this.teardown) return closedWhileWaiting(taskId);
    const { address } = this.connections.topology;
    const reason = endedForGoodReason(this.connections.commands);
    return new RedisUnreachableError(
      address,
      reason,
      `Redis at ${address} could not be reached: ${reason}; cannot wait for the result of task ${taskId}.`,
    );
  }

  /**
   * One more wait needs `channel`. A SUBSCRIBE sent while an UNSUBSCRIBE of the same channel is
   * in flight is answered after it (one connection, in order), so it leaves the channel subscribed.
   * Neither goes to a subscriber not ready (subscriberReady: it would reorder them): the channel is
   * subscribed, and its waits read, once it is (onSubscriberReady).
   * One Redis refuses (an ACL without the channel) ends the waits (Waiter.refused). One lost with
   * the connection (ioredis fails what it queued after maxRetriesPerRequest attempts, or when the
   * connection ended) does not: the channel is subscribed again, and every wait's task read again,
   * once a subscriber is ready (onSubscriberReady, renew); meanwhile the waits read it now, and at
   * their timeout.
   */
  private acquire(channel: string): Promise<unknown> {
    let entry = this.channels.get(channel);
    if (!entry) {
      this.unsubscribing.delete(channel);
      const subscriber = this.listening();
      let answered: (() => void) | undefined;
      const subscribed = subscriberReady(subscriber)
        ? subscriber.subscribe(channel).catch((error: Error) => {
            if (error instanceof ReplyError) throw error;
          })
        : new Promise<void>((resolve) => (answered = resolve));
      if (answered) connectSubscriber(subscriber);
      entry = { subscribed, waits: 0, answered };
      this.channels.set(channel, entry);
      const created = entry;
      subscribed.catch(() => {
        if (this.channels.get(channel) === created) this.channels.delete(channel);
      });
    }
    entry.waits++;
    return entry.subscribed;
  }

  /**
   * A Cluster whose subscriber connection this ioredis does not show (unseenSubscriber: another
   * version) hides when that connection is ready, so a SUBSCRIBE could go in its handshake
   * (subscriberReady) or, never sent, leave the waits deaf. No wait subscribes: each reads its
   * task's state every UNSEEN_POLL_MS instead (a round after the last one's reads are answered),
   * while waits are in progress.
   */
  private poll(): void {
    this.polling ??= setTimeout(() => {
      const reads = [...this.waiters.values()].flatMap((set) => [...set].map((w) => w.reread()));
      void Promise.all(reads).then(() => {
        this.polling = undefined;
        if (this.waiters.size > 0 && !this.closed) this.poll();
      });
    }, UNSEEN_POLL_MS);
  }

  /** A wait on `channel` ended; the last one unsubscribes. */
  private release(channel: string): void {
    const entry = this.channels.get(channel);
    if (!entry || --entry.waits > 0) return;
    this.channels.delete(channel);
    if (!this.subscriber) return;
    if (subscriberReady(this.subscriber)) this.subscriber.unsubscribe(channel).catch(() => undefined);
    else this.unsubscribing.add(channel);
  }

  /**
   * The subscriber, made on first use. One that ended for good (a retryStrategy that gave up) is
   * made anew while the command connection has not ended too: every later SUBSCRIBE failed on it
   * ("Connection is closed.") for the process's life.
   */
  private listening(): Redis {
    if (this.subscriber?.status === 'end' && this.connections.commands.status !== 'end') this.renew(this.subscriber);
    return (this.subscriber ??= this.createSubscriber());
  }

  /** The subscriber, ended for good, is made anew when waits are in progress. */
  private renewEnded(): void {
    if (this.subscriber?.status === 'end' && this.waiters.size > 0) this.renew(this.subscriber);
  }

  /** `ended` makes way for a new subscriber, whose 'ready' subscribes what waits need and reads again. */
  private renew(ended: Redis): void {
    if (this.subscriber !== ended || this.closed) return;
    this.connections.release(ended);
    this.subscriber = this.createSubscriber();
  }

  private waitsOn(channel: string): Waiter[] {
    return [...this.waiters.values()].flatMap((set) => [...set].filter((w) => w.channel === channel));
  }

  private createSubscriber(): Redis {
    const subscriber = this.connections.dedicated('results', { watched: true });
    // Subscribed again by us alone after a drop (below): ioredis's own SUBSCRIBE, sent with no
    // handler, rejected unhandled when Redis refused it (an ACL change took a done channel from
    // the user, and Redis dropped the connection), which ends a Node process. A cluster's is handled.
    if (!isClusterClient(subscriber)) subscriber.options.autoResubscribe = false;
    // Waits in progress are heard again at once while the command connection answers; with it
    // down too, once it is back or at the next result() (listening): no loop of connections that
    // cannot connect.
    subscriber.once('end', () => {
      if (this.connections.commands.status === 'ready') this.renewEnded();
    });
    // A token settles only the waits on the channel it came on: task ids are unique within a
    // queue's partition, not across queues, and a handle built by hand may name the wrong queue,
    // whose wait must not take another queue's result for its own.
    subscriber.on('message', (channel: string, message: string) => {
      for (const [kind, id] of parseDoneMessage(message)) {
        this.waiters.get(id)?.forEach((w) => {
          if (w.channel === channel) void (kind ? w.done(kind) : w.check());
        });
      }
    });
    // Our own SUBSCRIBE reply proves the subscription is live again, and only then is a re-read
    // sure not to miss a completion. On a cluster (where ioredis re-subscribes by itself), also
    // when ioredis made its subscriber connection anew (onSubscriberReady). One channel per
    // SUBSCRIBE: Redis refuses a whole SUBSCRIBE for one channel its ACL refuses, and one queue's
    // refused channel must not end the waits of another.
    // A Cluster's 'ready' may come before its subscriber connection's, which it then starts;
    // one it does not show (seen only now: none made before) has its waits poll.
    onSubscriberReady(subscriber, () => {
      if (!subscriberReady(subscriber)) {
        if (unseenSubscriber(subscriber)) this.poll();
        else connectSubscriber(subscriber);
        return;
      }
      for (const channel of this.unsubscribing) subscriber.unsubscribe(channel).catch(() => undefined);
      this.unsubscribing.clear();
      if (this.waiters.size === 0) return;
      for (const channel of this.channels.keys()) {
        subscriber.subscribe(channel).then(
          () => {
            this.channels.get(channel)?.answered?.();
            this.waitsOn(channel).forEach((w) => void w.reread());
          },
          (error: Error) => {
            if (!(error instanceof ReplyError)) return;
            // Subscribed anew by the next result() on it, which a grant may let through.
            this.channels.delete(channel);
            this.waitsOn(channel).forEach((w) => w.refused(error));
          },
        );
      }
    });
    return subscriber;
  }
}

function closedWhileWaiting(taskId: string): ApplicationClosedError {
  return new ApplicationClosedError(`The application closed while waiting for the result of task ${taskId}.`);
}

/**
 * A command ioredis gave up while its connection was down (after maxRetriesPerRequest attempts
 * to reconnect): a wait goes on, and reads again once the connection is back. A connection
 * ended for good does not come back: its 'end' ends the waits (onCommandsEnded).
 */
function isLostWithConnection(error: Error): boolean {
  return isGivenUpByRetries(error);
}

function isTooManyGroups(error: Error): boolean {
  return error instanceof StreamQueueError && error.code === 'TOO_MANY_GROUPS';
}
