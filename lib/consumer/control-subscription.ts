import type { Logger } from '@nestjs/common';
import { ReplyError, type Redis } from 'ioredis';
import { onSubscriberReady } from '../redis/cluster-subscriber';
import { monotonicMs } from './lease';

/** The first wait before a refused control channel is subscribed again; doubled per refusal. */
const FIRST_RETRY_MS = 500;
/** The longest wait between two tries: a channel granted back is heard again within it. */
const MAX_RETRY_MS = 5_000;
/** How often at most a worker warns that Redis still refuses it a control channel. */
const REFUSED_WARN_MS = 10_000;

/** @internal What a ControlSubscription subscribes with, and whom it tells. */
export interface ControlSubscriptionParts {
  /** The worker's dedicated subscriber connection, its autoResubscribe off (see ConsumerHost). */
  readonly control: Redis;
  readonly channels: readonly string[];
  readonly consumerName: string;
  readonly logger: Logger;
  /**
   * Notices published while a channel went unheard are lost: what is checked again once a
   * channel is heard again (the keyed runs in flight, whether each queue is watched).
   */
  readonly heardAgain: () => Promise<unknown>;
  /** The error that fails the worker's start when Redis refuses these channels (each asked alone). */
  readonly refusedAtStart: (refused: readonly { channel: string; error: Error }[]) => Error;
}

/**
 * @internal The worker's subscriptions to its queues' control channels: made at start, made
 * again by us after each drop (one channel per SUBSCRIBE: Redis refuses a whole SUBSCRIBE for one
 * channel its ACL refuses, and one queue's refused channel must not leave the worker deaf on
 * every queue), and a channel Redis's ACL refused tried again on a back-off of up to
 * MAX_RETRY_MS. An ACL that takes a channel away drops the subscriber's connection, so the
 * refusal is seen on reconnect; one that grants it back drops nothing, and without the retry the
 * worker stayed deaf there until its connection was made anew for another reason.
 */
export class ControlSubscription {
  private subscribed = false;
  private stopped = false;
  /** Bumped by each subscription after a drop: the retry of an older one's refusals is moot. */
  private round = 0;
  private retry?: NodeJS.Timeout;
  private retryMs = FIRST_RETRY_MS;
  private warnedAt?: number;

  constructor(private readonly parts: ControlSubscriptionParts) {}

  /**
   * Subscribes each channel with a SUBSCRIBE of its own, as after a drop: a channel Redis refuses
   * fails the start with ControlChannelRefusedError naming it (Redis's refusal of a single
   * SUBSCRIBE for all of them named none), since a worker deaf to cancel, replace and pause must
   * not run; a connection failure fails it as it came. Also subscribes again whenever ioredis made
   * the connection anew (onSubscriberReady).
   */
  async start(): Promise<void> {
    const { control, channels } = this.parts;
    onSubscriberReady(control, () => {
      if (!this.subscribed || this.stopped) return;
      clearTimeout(this.retry);
      this.retryMs = FIRST_RETRY_MS;
      void this.subscribeEach(channels, ++this.round, 'after a reconnect');
    });
    const outcomes = await Promise.all(
      channels.map((channel) =>
        control.subscribe(channel).then(
          () => undefined,
          (error: Error) => ({ channel, error }),
        ),
      ),
    );
    const failures = outcomes.filter((o) => o !== undefined);
    const refused = failures.filter((f) => f.error instanceof ReplyError);
    if (refused.length > 0) throw this.parts.refusedAtStart(refused);
    if (failures.length > 0) throw failures[0].error;
    this.subscribed = true;
  }

  /** No more tries: the connection is being closed. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
  }

  /**
   * Subscribes each of `channels` on its own; those Redis refuses are tried again later. Once
   * any is heard (ioredis resubscribes nothing itself; a SUBSCRIBE of ours confirms it), what
   * may have been missed is checked again. Any other failure (Redis away) is left to the next
   * reconnect, which subscribes every channel again.
   */
  private async subscribeEach(channels: readonly string[], round: number, when: string): Promise<void> {
    const { control } = this.parts;
    const refused: string[] = [];
    let refusal = '';
    const heard: string[] = [];
    await Promise.all(
      channels.map((channel) =>
        control.subscribe(channel).then(
          () => void heard.push(channel),
          (error: Error) => {
            if (!(error instanceof ReplyError)) return;
            refused.push(channel);
            refusal = error.message;
          },
        ),
      ),
    );
    if (round !== this.round || this.stopped) return;
    if (refused.length > 0) {
      this.warnRefused(refused, refusal, when);
      this.tryAgainLater(refused, round);
    }
    if (heard.length === 0) return;
    if (when === 'again') {
      this.parts.logger.log(
        `Redis accepted worker ${this.parts.consumerName}'s SUBSCRIBE to ${heard.join(', ')} again: it hears its control notices there again.`,
      );
    }
    await this.parts.heardAgain().catch(() => undefined);
  }

  private tryAgainLater(channels: readonly string[], round: number): void {
    const wait = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
    this.retry = setTimeout(() => void this.subscribeEach(channels, round, 'again'), wait);
    // A worker with nothing else to do must still be free to exit.
    this.retry.unref();
  }

  /** At the first refusal, then at most every REFUSED_WARN_MS: a retry every few seconds would flood the log. */
  private warnRefused(channels: readonly string[], refusal: string, when: string): void {
    const now = monotonicMs();
    if (this.warnedAt !== undefined && now - this.warnedAt < REFUSED_WARN_MS) return;
    this.warnedAt = now;
    this.parts.logger.warn(
      `Redis refused worker ${this.parts.consumerName}'s SUBSCRIBE to ${channels.join(', ')} ${when} (${refusal}): it hears no cancel, replace, pause, due promotion or events() watcher there until its user is granted them; it tries again every few seconds.`,
    );
  }
}
