import { PartitionLayoutError } from '../errors';
import type { Redis } from 'ioredis';
import type { TaskState, TaskStatus } from '../interfaces';
import type { QueueKeys } from '../redis/keys';
import { hashFieldsOrNone, isWrongType } from '../redis/wrong-type';
import { storedAttempt, storedGeneration } from './key-state-numbers';
import { dateOf } from './listed-task';
import { readSettled } from './settled-state';

/**
 * @internal The state of the latest run of `key`, or null when the key has none (it expired, or
 * holds another type than a hash: isWrongType).
 */
export async function readKeyStatus(redis: Redis, keys: QueueKeys, key: string): Promise<TaskStatus | null> {
  const state = await hashFieldsOrNone(redis.hmget(keys.keyState(key), ...STATUS_FIELDS), STATUS_FIELDS.length);
  return keyStatusOf(key, fieldsOf(state));
}

/**
 * @internal A keyed handle's status: its key's, while the key's state lasts (the module's
 * resultTtlMs). A task's own resultTtlMs may keep its result longer: once the key's state expired,
 * that stored result tells how it ended (null when none is kept, or it is a retry's pending mark),
 * as its result() does, rather than null for a task whose result() still resolves.
 */
export async function readKeyedTaskStatus(
  redis: Redis,
  keys: QueueKeys,
  key: string,
  id: string,
  generation: number,
): Promise<TaskStatus | null> {
  const byKey = await readKeyStatus(redis, keys, key);
  if (byKey) return byKey;
  // No key given: the read finds the stored result alone, or says pending.
  const settled = await readSettled(redis, keys, { id });
  if (settled.state !== 'completed' && settled.state !== 'failed' && settled.state !== 'cancelled') return null;
  const error = settled.state === 'failed' ? settled.error?.message : undefined;
  return { state: settled.state, id, key, generation, attempt: undefined, error };
}

/**
 * @internal readKeyStatus for a key mapped to its partition under `partitions` (QueueClient.status):
 * read with the partition's layout record in one pipeline (same slot), and refused with a
 * PartitionLayoutError when the record says another count. A process with a stale count would
 * read the key's old partition and miss a live run in its new one.
 */
export async function readMappedKeyStatus(
  redis: Redis,
  queue: string,
  keys: QueueKeys,
  partitions: number,
  key: string,
): Promise<TaskStatus | null> {
  const [[layoutError, stored], [stateError, state]] = (await redis
    .pipeline()
    .get(keys.layout)
    .hmget(keys.keyState(key), ...STATUS_FIELDS)
    .exec()) as [[Error | null, string | null], [Error | null, (string | null)[]]];
  if (layoutError) throw layoutError;
  // A key state that is not a hash reads as none (isWrongType).
  if (stateError && !isWrongType(stateError)) throw stateError;
  const record = stored ?? '1';
  if (record !== String(partitions)) {
    throw PartitionLayoutError.staleCount(queue, record, partitions);
  }
  return stateError ? null : keyStatusOf(key, fieldsOf(state));
}

/**
 * The key state's fields a status reads: asked for by name, never the whole hash (HGETALL), which
 * anyone who can write to Redis can fill with fields of their own.
 */
const STATUS_FIELDS = [
  'state',
  'id',
  'gen',
  'attempt',
  'enqueuedAt',
  'dueAt',
  'startedAt',
  'finishedAt',
  'error',
] as const;

function fieldsOf(values: (string | null)[]): Record<string, string> {
  const state: Record<string, string> = {};
  STATUS_FIELDS.forEach((field, i) => {
    if (typeof values[i] === 'string') state[field] = values[i];
  });
  return state;
}

/** The states the scripts write into a key state (field state). */
const KEY_RUN_STATES: ReadonlySet<string> = new Set<TaskState>([
  'queued',
  'delayed',
  'running',
  'completed',
  'failed',
  'cancelled',
]);

/**
 * @internal A key state's run state (field state), or undefined when it is none a key's run can
 * be: anyone can write the hash, and `x` was handed on as a TaskState.
 */
export function keyRunState(text: string | null | undefined): TaskState | undefined {
  return text != null && KEY_RUN_STATES.has(text) ? (text as TaskState) : undefined;
}

function keyStatusOf(key: string, state: Record<string, string>): TaskStatus | null {
  const run = keyRunState(state.state);
  if (!run) return null;
  // Anyone can write the hash: a time no Date holds reads as none, as the listings read theirs,
  // and so does a generation or attempt that is not one (key-state-numbers.ts).
  const date = (field: string) => (state[field] ? dateOf(Number(state[field])) : undefined);
  return {
    state: run,
    id: state.id,
    key,
    generation: storedGeneration(state.gen),
    attempt: storedAttempt(state.attempt),
    enqueuedAt: date('enqueuedAt'),
    dueAt: date('dueAt'),
    startedAt: date('startedAt'),
    finishedAt: date('finishedAt'),
    error: state.error,
  };
}

/**
 * @internal Status of an unkeyed task, inferred (see readSettled): its stored result (or the
 * cancelled record of its removal); else, with its entry id, pending while the entry waits or
 * runs, completed once it is gone.
 */
export async function readUnkeyedStatus(
  redis: Redis,
  keys: QueueKeys,
  id: string,
  entryId: string | undefined,
  waitsForSlot = false,
): Promise<TaskStatus> {
  const settled = await readSettled(redis, keys, { id, entryId: entryId || undefined, waitsForSlot });
  const ended = settled.state === 'completed' || settled.state === 'failed' || settled.state === 'cancelled';
  const state: TaskState = ended ? settled.state : 'pending';
  return {
    state,
    id,
    key: undefined,
    generation: 0,
    attempt: undefined,
    error: settled.state === 'failed' ? settled.error?.message : undefined,
  };
}
