import type { TaskHandle } from '../client/task-handle';
import { StreamQueueError } from './stream-queue.error';

/**
 * What `enqueueMany` did with one item: its handle when Redis acknowledged the write, else the
 * error Redis (or the connection) answered for it.
 * @publicApi
 */
export type EnqueueManyResult<R = unknown> = { readonly handle: TaskHandle<R> } | { readonly error: Error };

/**
 * `enqueueMany` wrote part of its batch: `results` says, in input order, which items were
 * written (a handle) and which were not (an error). Retry only `failed`: a written unkeyed
 * item sent again would run twice.
 * @publicApi
 */
export class EnqueueManyError<R = unknown> extends StreamQueueError {
  constructor(readonly results: ReadonlyArray<EnqueueManyResult<R>>) {
    const failed = results.filter((r) => 'error' in r) as { error: Error }[];
    super(
      'ENQUEUE_MANY_FAILED',
      `${failed.length} of ${results.length} tasks were not enqueued (${results.length - failed.length} were); ` +
        `first error: ${failed[0]?.error.message}`,
    );
  }

  /** Handles of the items written, in input order. */
  get handles(): TaskHandle<R>[] {
    return this.results.flatMap((r) => ('handle' in r ? [r.handle] : []));
  }

  /** The items not written: their position in the input and the error. */
  get failed(): { index: number; error: Error }[] {
    return this.results.flatMap((r, index) => ('error' in r ? [{ index, error: r.error }] : []));
  }
}
