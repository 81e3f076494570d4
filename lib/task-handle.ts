import type { QueueKeys } from './redis/keys';
import type { ResultWaiter } from './result-waiter';

/**
 * A reference to an enqueued task. `result()` resolves with the handler's return value, or
 * rejects with `TaskFailedError` once the last attempt failed, or `TaskTimeoutError`.
 * @publicApi
 */
export class TaskHandle<R = unknown> {
  /** @internal */
  constructor(
    readonly id: string,
    readonly name: string,
    readonly queue: string,
    readonly key: string | undefined,
    readonly generation: number,
    /** false when enqueue found a live run of the key and returned it. */
    readonly created: boolean,
    private readonly keys: QueueKeys,
    private readonly waiter: ResultWaiter,
  ) {}

  result(options: { timeoutMs?: number } = {}): Promise<R> {
    return this.waiter.wait<R>(this.keys, this.id, options.timeoutMs ?? 30_000);
  }

  toJSON(): { id: string; name: string; queue: string; key?: string; generation: number } {
    return { id: this.id, name: this.name, queue: this.queue, key: this.key, generation: this.generation };
  }
}
