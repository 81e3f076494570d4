import { randomUUID } from 'node:crypto';
import type { QueueKeys } from '../redis/keys';

/** @internal A validated enqueue, ready for enqueue.lua. */
export interface EnqueueCall {
  readonly name: string;
  readonly queue: string;
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
}

/**
 * @internal enqueue.lua's reply: task id, generation, code (1 created, 0 an existing live run,
 * -1 the key's live run belongs to another task), stream entry id ('' when delayed or
 * existing), and the name of the task that holds the key.
 */
export type EnqueueReply = [id: string, generation: number, code: 1 | 0 | -1, entryId: string, name: string];

/** @internal KEYS and ARGV of enqueue.lua for one call (see the script's header). */
export function enqueueScriptArgs(
  keys: QueueKeys,
  call: EnqueueCall,
  id = randomUUID(),
): [string[], (string | number)[]] {
  const args = [id, call.name, call.payload, call.delayMs, call.runAt, call.mode, call.key ?? '', keys.controlChannel];
  if (call.key === undefined) {
    return [[keys.stream, keys.delayed], call.trace === undefined ? args : [...args, 0, '0', '', call.trace]];
  }
  const keyed = [...args, call.everyMs, call.periodic ? '1' : '0', keys.doneChannel];
  if (call.trace !== undefined) keyed.push(call.trace);
  return [[keys.stream, keys.delayed, keys.keyState(call.key), keys.seq], keyed];
}

/** @internal KEYS and ARGV of enqueue-many.lua for unkeyed calls of one queue, with their ids. */
export function enqueueManyScriptArgs(
  keys: QueueKeys,
  calls: readonly EnqueueCall[],
  ids: readonly string[],
): [string[], (string | number)[]] {
  const args: (string | number)[] = [keys.controlChannel];
  calls.forEach((call, i) => args.push(ids[i], call.name, call.payload, call.delayMs, call.runAt, call.trace ?? ''));
  return [[keys.stream, keys.delayed], args];
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
