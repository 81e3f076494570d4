import type { QueueKeys } from '../redis/keys';
import type { FlowLimits } from '../scripts/enqueue-flow.script';
export type { EnqueueReply } from '../scripts/enqueue.script';

/** @internal A validated enqueue, ready for enqueue.lua. */
export interface EnqueueCall {
  readonly name: string;
  readonly queue: string;
  /** The partition it goes to: its key's, or the next in turn for a task without a key. */
  readonly keys: QueueKeys;
  /** The queue's partition count as this process maps it, checked by the scripts (layout-guard.lua). */
  readonly partitions: number;
  readonly key: string | undefined;
  readonly payload: string;
  readonly delayMs: number;
  /** Absolute due time in epoch ms, 0 when `delayMs` applies. */
  readonly runAt: number;
  readonly mode: 'add' | 'replace';
  /** Period of an `every` key, 0 for none. */
  readonly everyMs: number;
  /** A periodic run carries its slot time so its successor can be timed from it. */
  readonly periodic: boolean;
  /** The trace context written as field t; set only while tracing is on. */
  readonly trace?: string;
  /**
   * Flow control (enqueue-flow.lua): the task has a limit here, or the enqueue names a group or
   * a priority. Undefined for the plain path.
   */
  readonly flow?: {
    readonly group?: string;
    readonly priority?: number;
    /** This process's @Task limits; undefined when it has no handler (Redis keeps the last ones). */
    readonly limits?: FlowLimits;
  };
}

/**
 * @internal Most tasks in one enqueue-many.lua call. A script blocks every other client of Redis
 * while it runs (about 4 ms per 1,000 small tasks), and its arguments are spread into one
 * JavaScript call (300,000 of them overflow the stack): both stay bounded.
 */
export const MAX_TASKS_PER_CALL = 1_000;

/** @internal Most payload characters in one enqueue-many.lua call; a larger task goes alone. */
export const MAX_PAYLOAD_PER_CALL = 1_048_576;

/**
 * @internal Splits `items` (unkeyed tasks of one queue, in call order) into the runs that go in
 * one enqueue-many.lua call each, bounded by MAX_TASKS_PER_CALL and MAX_PAYLOAD_PER_CALL.
 */
export function enqueueManyChunks<T>(items: readonly T[], callOf: (item: T) => EnqueueCall): T[][] {
  const chunks: T[][] = [];
  let chunk: T[] = [];
  let size = 0;
  for (const item of items) {
    const length = callOf(item).payload.length;
    if (chunk.length > 0 && (chunk.length === MAX_TASKS_PER_CALL || size + length > MAX_PAYLOAD_PER_CALL)) {
      chunks.push(chunk);
      chunk = [];
      size = 0;
    }
    chunk.push(item);
    size += length;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/**
 * @internal The stream entry of an unkeyed task due now, as enqueue.lua and enqueue-many.lua
 * write it (see includes/message.lua): what QueueClient XADDs directly for a single enqueue.
 */
export function plainMessageFields(id: string, call: EnqueueCall): string[] {
  const fields = ['id', id, 'n', call.name, 'p', call.payload, 'a', '1'];
  if (call.trace !== undefined) fields.push('t', call.trace);
  return fields;
}
