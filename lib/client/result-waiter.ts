import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { StreamQueueError, TaskFailedError, TaskTimeoutError } from '../errors';
import { RedisConnections } from '../redis/redis-connections';
import type { QueueKeys } from '../redis/keys';
import type { StoredResult } from '../task/task-outcome';

interface Waiter {
  /** Reads the result key; settles the wait when a result is there. */
  check(): void;
  abandon(error: Error): void;
}

/**
 * @internal Waits for task results without polling: subscribe to the queue's completion
 * channel first, then read the result key, so a completion that happened before the wait
 * began is found by the read, and one after it by the message. Messages published while the
 * subscriber reconnects are lost, so every wait reads its key again once resubscribed.
 */
@Injectable()
export class ResultWaiter implements OnApplicationShutdown {
  private subscriber?: Redis;
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly channels = new Map<string, Promise<unknown>>();

  constructor(private readonly connections: RedisConnections) {}

  async wait<T>(keys: QueueKeys, taskId: string, timeoutMs: number): Promise<T> {
    await this.listen(keys.doneChannel);
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const finish = () => {
        settled = true;
        clearTimeout(timer);
        const set = this.waiters.get(taskId);
        set?.delete(waiter);
        if (set?.size === 0) this.waiters.delete(taskId);
      };
      const waiter: Waiter = {
        check: () => {
          this.connections.commands.get(keys.result(taskId)).then(
            (raw) => {
              if (raw === null || settled) return;
              finish();
              try {
                const stored = JSON.parse(raw) as StoredResult;
                if (stored.ok) resolve(stored.value as T);
                else reject(new TaskFailedError(taskId, stored.error.name, stored.error.message));
              } catch (error) {
                reject(error);
              }
            },
            (error: Error) => waiter.abandon(error),
          );
        },
        abandon: (error) => {
          if (settled) return;
          finish();
          reject(error);
        },
      };
      // Infinity: no timer (Node would turn it into 1 ms).
      const timer =
        timeoutMs === Infinity
          ? undefined
          : setTimeout(
              () => waiter.abandon(new TaskTimeoutError(`No result for task ${taskId} within ${timeoutMs} ms.`)),
              timeoutMs,
            );
      if (!this.waiters.has(taskId)) this.waiters.set(taskId, new Set());
      this.waiters.get(taskId)!.add(waiter);
      waiter.check();
    });
  }

  /** Pending waits end now, rather than holding the process open until their timeouts. */
  async onApplicationShutdown(): Promise<void> {
    this.subscriber = undefined;
    this.channels.clear();
    // Copies: abandon() removes each waiter from these collections while we iterate.
    for (const [taskId, set] of Array.from(this.waiters)) {
      for (const waiter of Array.from(set)) {
        waiter.abandon(
          new StreamQueueError('SHUTDOWN', `The application closed while waiting for the result of task ${taskId}.`),
        );
      }
    }
  }

  private listen(channel: string): Promise<unknown> {
    let subscribed = this.channels.get(channel);
    if (!subscribed) {
      if (!this.subscriber) this.subscriber = this.createSubscriber();
      subscribed = this.subscriber.subscribe(channel);
      subscribed.catch(() => this.channels.delete(channel));
      this.channels.set(channel, subscribed);
    }
    return subscribed;
  }

  private createSubscriber(): Redis {
    const subscriber = this.connections.dedicated('results');
    subscriber.on('message', (_channel: string, message: string) => {
      for (const id of message.split(',')) this.waiters.get(id)?.forEach((w) => w.check());
    });
    // 'ready' comes before ioredis re-subscribes by itself; our own SUBSCRIBE reply proves the
    // subscription is live again, and only then is a re-read sure not to miss a completion.
    subscriber.on('ready', () => {
      const channels = [...this.channels.keys()];
      if (channels.length === 0 || this.waiters.size === 0) return;
      subscriber.subscribe(...channels).then(
        () => this.waiters.forEach((set) => set.forEach((w) => w.check())),
        () => undefined,
      );
    });
    return subscriber;
  }
}
