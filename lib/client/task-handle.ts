import { InvalidOptionError } from '../errors';
import type { TaskStatus } from '../interfaces';
import { MAX_TIMER_MS } from '../stream-queue.constants';
import { snapshotOptions } from '../options-snapshot';
import type { QueueKeys } from '../redis/keys';
import type { ResultWaiter } from './result-waiter';
import type { TaskRef } from './settled-state';

/**
 * A reference to an enqueued task. `result()` resolves with the handler's return value, or
 * rejects with `TaskFailedError` once the last attempt failed, `TaskSupersededError` or
 * `TaskCancelledError` when it will never run to completion, `TaskTimeoutError`, or
 * `ApplicationClosedError`.
 * @publicApi
 */
export class TaskHandle<R = unknown> {
  /** @internal */
  constructor(
    readonly id: string,
    /** Task name; undefined for a handle built from an id alone. */
    readonly name: string | undefined,
    readonly queue: string,
    readonly key: string | undefined,
    readonly generation: number,
    /** false when enqueue found a live run of the key and returned it. */
    readonly created: boolean,
    private readonly keys: QueueKeys,
    private readonly waiter: ResultWaiter,
    /** Reads the run's state (its key's latest run, or an unkeyed task's inferred state). */
    private readonly readStatus: () => Promise<TaskStatus | null>,
    /**
     * @internal The stream entry the enqueue wrote ('' or undefined when unknown: a delayed task,
     * a handle by id): once it is gone with nothing stored, the task completed without a value.
     */
    readonly entryId?: string,
    /** @internal Its enqueue left it waiting for a flow slot (see TaskRef.waitsForSlot). */
    readonly waitsForSlot = false,
  ) {}

  /**
   * Waits (without polling) for the result; default timeout 30 s. `timeoutMs` is an integer >= 0;
   * from 2^31 ms (about 24.8 days, the longest Node timer) up to `Infinity` it waits without one.
   */
  result(options: { timeoutMs?: number } = {}): Promise<R> {
    let read: { timeoutMs?: number };
    try {
      read = snapshotOptions(options, '', ['timeoutMs']); // read once: checked as used
    } catch (error) {
      return Promise.reject(error as Error); // a promise, as every other refusal here
    }
    // result(5000) would otherwise wait the default, the number ignored.
    if (read === null || typeof read !== 'object' || Array.isArray(read))
      return Promise.reject(new InvalidOptionError('options', 'an object { timeoutMs? }', read));
    const timeoutMs = read.timeoutMs ?? 30_000;
    if (timeoutMs !== Infinity && (!Number.isSafeInteger(timeoutMs) || timeoutMs < 0)) {
      return Promise.reject(
        new InvalidOptionError('timeoutMs', 'an integer >= 0, or Infinity to wait without a timeout', timeoutMs),
      );
    }
    return this.waiter.wait<R>(this.keys, this.ref(), timeoutMs > MAX_TIMER_MS ? Infinity : timeoutMs);
  }

  /** The run's state: a keyed task reports its key's latest run; see TaskStatus. */
  status(): Promise<TaskStatus | null> {
    return this.readStatus();
  }

  private ref(): TaskRef {
    return { id: this.id, key: this.key, entryId: this.entryId || undefined, waitsForSlot: this.waitsForSlot };
  }

  /**
   * What client.handle(id, options) needs to rebuild this handle elsewhere (see there). `partition`
   * is the partition the task was enqueued in (0 on a queue of one): a handle rebuilt after a
   * change of the partition count still reads it there.
   */
  toJSON(): {
    id: string;
    name?: string;
    queue: string;
    key?: string;
    generation: number;
    entryId?: string;
    waitsForSlot?: boolean;
    partition: number;
  } {
    return {
      id: this.id,
      name: this.name,
      queue: this.queue,
      key: this.key,
      generation: this.generation,
      entryId: this.entryId || undefined,
      ...(this.waitsForSlot ? { waitsForSlot: true } : {}),
      partition: this.keys.partition,
    };
  }
}
