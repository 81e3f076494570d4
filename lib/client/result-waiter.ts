import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { TaskFailedError, TaskTimeoutError } from '../errors';
import { RedisConnections } from '../redis/redis-connections';
import type { QueueKeys } from '../redis/keys';
import type { StoredResult } from '../task/task-outcome';

type Waiter = { check: () => void };

/**
 * @internal Waits for task results without polling: subscribe to the queue's completion
 * channel first, then read the result key, so a completion that happened before the wait
 * began is found by the read, and one after it by the message.
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
      const waiter: Waiter = {
        check: () => {
          this.connections.commands.get(keys.result(taskId)).then((raw) => {
            if (raw === null || settled) return;
            finish();
            try {
              const stored = JSON.parse(raw) as StoredResult;
              if (stored.ok) resolve(stored.value as T);
              else reject(new TaskFailedError(taskId, stored.error.name, stored.error.message));
            } catch (error) {
              reject(error);
            }
          }, (error: Error) => { finish(); reject(error); });
        },
      };
      const timer = setTimeout(() => {
        finish();
        reject(new TaskTimeoutError(`No result for task ${taskId} within ${timeoutMs} ms.`));
      }, timeoutMs);
      const finish = () => {
        settled = true;
        clearTimeout(timer);
        this.waiters.get(taskId)?.delete(waiter);
        if (this.waiters.get(taskId)?.size === 0) this.waiters.delete(taskId);
      };
      if (!this.waiters.has(taskId)) this.waiters.set(taskId, new Set());
      this.waiters.get(taskId)!.add(waiter);
      waiter.check();
    });
  }

  async onApplicationShutdown(): Promise<void> {
    this.subscriber = undefined;
  }

  private listen(channel: string): Promise<unknown> {
    let subscribed = this.channels.get(channel);
    if (!subscribed) {
      if (!this.subscriber) {
        this.subscriber = this.connections.dedicated('results');
        this.subscriber.on('message', (_channel: string, message: string) => {
          for (const id of message.split(',')) this.waiters.get(id)?.forEach((w) => w.check());
        });
      }
      subscribed = this.subscriber.subscribe(channel);
      subscribed.catch(() => this.channels.delete(channel));
      this.channels.set(channel, subscribed);
    }
    return subscribed;
  }
}
