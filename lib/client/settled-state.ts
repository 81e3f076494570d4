import type { Redis } from 'ioredis';
import { TaskCancelledError, TaskFailedError, TaskSupersededError, UnreadableResultError } from '../errors';
import type { QueueKeys } from '../redis/keys';
import { queueStateRefusal } from '../scripts/queue-state.script';
import { settledStateScript } from '../scripts/settled-state.script';

/** @internal What a result() or status() needs to know about a task. */
export interface TaskRef {
  readonly id: string;
  readonly key?: string;
  /** Its stream entry, when the enqueue wrote one (not for a delayed task or a handle by id). */
  readonly entryId?: string;
  /**
   * Its enqueue left it waiting in the flow room: no void result of it is kept, and it has
   * settled once its record in flow:tasks (its wait, then its hold) is gone with nothing stored.
   */
  readonly waitsForSlot?: boolean;
}

/** @internal Where a task stands, as far as Redis still knows. */
export type Settled =
  | {
      readonly state: 'pending';
      /** Told by its key state: a run of this task waits or runs, not merely nothing read. */
      readonly byKey?: true;
    }
  | {
      readonly state: 'completed';
      readonly value?: unknown;
      /** Told by its key state: a run of this task completed, not merely an entry gone. */
      readonly byKey?: true;
    }
  | { readonly state: 'failed'; readonly error?: { name: string; message: string } }
  | { readonly state: 'superseded' }
  | { readonly state: 'cancelled' };

const PENDING: Settled = { state: 'pending' };
const PENDING_BY_KEY: Settled = { state: 'pending', byKey: true };

/**
 * @internal A token of the done channel: `c` completed, `f` failed for good, `s` superseded,
 * `x` cancelled. A bare id (workers from before the tokens) means "read the state".
 */
export type DoneKind = 'c' | 'f' | 's' | 'x';

/** @internal The (kind, id) pairs of one done-channel message. */
export function parseDoneMessage(message: string): Array<[DoneKind | undefined, string]> {
  return message.split(',').map((token) => {
    // Task ids are UUIDs (no ':'), so a bare id never looks like a token.
    const kind = token[1] === ':' ? token[0] : undefined;
    return kind === 'c' || kind === 'f' || kind === 's' || kind === 'x' ? [kind, token.slice(2)] : [undefined, token];
  });
}

/**
 * @internal What a done token says, completed with the stored result when there is one: a
 * void run of an unkeyed task stores nothing, and with resultTtlMs 0 nothing is stored at all.
 */
export function settledByToken(taskId: string, kind: DoneKind, raw: string | null): Settled {
  if (kind === 's') return { state: 'superseded' };
  if (kind === 'x') return { state: 'cancelled' };
  const stored = parseStored(taskId, raw);
  // A failure's read finding a success or a cancel: a later run of the task (a redrive's)
  // completed, or was removed, before the read. The last run failing stores a failure or nothing.
  const later = stored && stored.state !== 'pending' && stored.state !== 'failed';
  if (kind === 'f' && !later) return { state: 'failed', error: stored?.state === 'failed' ? stored.error : undefined };
  return stored && stored.state !== 'pending' ? stored : { state: 'completed' };
}

/**
 * @internal Whether a failure's done token may be out of date by the time its stored result is
 * read: the task was redriven since, and runs again. A redrive marks the task's result pending
 * (redrive.lua; one before this version deleted a keyed task's, its key state naming the task
 * queued again): the token's failure then read as one whose error "is not stored (resultTtlMs
 * 0, or expired)". Its state is read instead (afterFailure).
 */
export function mayRunAgain(ref: TaskRef, kind: DoneKind, raw: string | null): boolean {
  return kind === 'f' && (isPendingMarker(raw) || (raw === null && ref.key !== undefined));
}

/**
 * @internal What a failure's token whose task may run again (mayRunAgain) settles with, from the
 * state read after it: pending (the redriven run waits or runs, and its own token will settle the
 * wait), a stored result or its key state's end (that run settled since). A completion its key
 * state does not tell, with no value stored, may be only a gone entry. After the pending marker
 * (`raw`) it is not: the marker's run settled since, deleting it (a void run with resultTtlMs 0),
 * and its own token, on its way, tells how. Without the marker, the token's failure stands, and
 * so it does against a pending its key state does not tell: a keyed task runs again only under
 * a key state naming it live, and with nothing kept (resultTtlMs 0: no result, the key state gone
 * with the settle) a handle that knows no entry (a delayed task's, an enqueue that returned the
 * key's live run) reads pending for a run that ended; it waited out its timeout. So it does
 * against superseded: that state gone, a newer run of the key enqueued before this read writes
 * one that names no run before it (no sid), which read as this task superseded.
 */
export function afterFailure(taskId: string, state: Settled, raw: string | null): Settled {
  const marked = isPendingMarker(raw);
  if (state.state === 'pending') return marked || state.byKey ? state : settledByToken(taskId, 'f', raw);
  if (state.state === 'superseded' && !marked) return settledByToken(taskId, 'f', raw);
  if (state.state !== 'completed' || 'value' in state || state.byKey) return state;
  return marked ? PENDING : settledByToken(taskId, 'f', raw);
}

/**
 * @internal Infers a task's state from one atomic snapshot (settled-state.lua): its stored
 * result; else, for a keyed task, its key state; else its stream entry, or for a task whose
 * enqueue left it waiting for a slot, its flow record. An entry gone while the task holds a flow
 * record is pending too: its retry, redrive or move into admission waits, or runs under another
 * entry, past the day its pending marker lasts. A result is written, or the entry deleted,
 * in the same script that settles the run, so the snapshot never sees a half-settled task. An
 * entry still in the stream and not pending needs the group's read position: past
 * GROUP_READ_LIMIT consumer groups it is not read (finding the group lists them all), and this
 * throws TOO_MANY_GROUPS.
 */
export async function readSettled(redis: Redis, keys: QueueKeys, ref: TaskRef): Promise<Settled> {
  const waited = !ref.entryId && ref.waitsForSlot === true;
  const snapshot = await settledStateScript(keys, { id: ref.id, key: ref.key, entryId: ref.entryId, waited })
    .run(redis)
    .catch((error: Error) => {
      throw queueStateRefusal(keys, error);
    });
  const stored = parseStored(ref.id, snapshot.stored);
  // A keyed task's pending marker (its redrive's) gives way to its key state, which knows
  // whether that run was cancelled or superseded since. With no key state the script leaves the
  // marker out: a live redriven run holds its state, so the run ended unsettled (a cancel or
  // replace, its state gone since) and would be waited on for the marker's day.
  if (stored && (stored.state !== 'pending' || ref.key === undefined)) return stored;
  if (snapshot.keyState) {
    const byKey = fromKeyState(ref.id, snapshot.keyState);
    if (byKey) return byKey;
  }
  // Waiting, admitted or running, it holds its record (also read for a gone entry); a retry
  // waiting out its backoff left the pending marker (stored, above). Gone with nothing stored:
  // it completed without a value.
  if (snapshot.waitRecord !== undefined) return snapshot.waitRecord ? PENDING : { state: 'completed' };
  // Gone: settled. Still in the stream and not pending: queued if the group has not read that
  // far yet; else it was acked, and its entry waits for a trim (complete.lua trims approximately).
  if (snapshot.entry === 'gone' || snapshot.entry === 'acked') return { state: 'completed' };
  return PENDING;
}

/** @internal The error result() rejects with for a settled state other than completed. */
export function settledError(taskId: string, settled: Settled): Error | undefined {
  if (settled.state === 'superseded') return new TaskSupersededError(taskId);
  if (settled.state === 'cancelled') return new TaskCancelledError(taskId);
  if (settled.state !== 'failed') return undefined;
  const { name, message } = settled.error ?? {
    name: 'UnknownError',
    message: `Task ${taskId} failed after its last attempt; its error is not stored (resultTtlMs 0, or expired).`,
  };
  return new TaskFailedError(taskId, name, message);
}

/**
 * @internal Whether a stored result is the pending marker (`{"ok":null}`, see parseStored): a
 * later run will settle the task, so it is no result, as status() reads it.
 */
export function isPendingMarker(raw: string | null): boolean {
  return raw !== null && parsedObject(raw)?.ok === null;
}

/**
 * The stored result; undefined when none is stored. `{"ok":null}` marks a retry that waits;
 * `{"ok":false,"cancelled":true}` an unkeyed task removed before it ran (remove-task.lua). Anyone
 * can overwrite it: what is not one of the shapes written throws UnreadableResultError, never a
 * SyntaxError from JSON.parse nor a guess at a state.
 */
function parseStored(taskId: string, raw: string | null): Settled | undefined {
  if (raw === null) return undefined;
  const stored = parsedObject(raw);
  if (stored?.ok === null) return PENDING;
  if (stored?.ok === true) return { state: 'completed', value: stored.value };
  if (stored?.ok !== false) throw new UnreadableResultError(taskId);
  if (stored.cancelled === true) return { state: 'cancelled' };
  const { error } = stored;
  if (error === undefined) return { state: 'failed' };
  if (!isStoredError(error)) throw new UnreadableResultError(taskId);
  return { state: 'failed', error: { name: error.name, message: error.message } };
}

function parsedObject(raw: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(raw);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function isStoredError(error: unknown): error is { name: string; message: string } {
  const e = error as Record<string, unknown> | null;
  return typeof e === 'object' && e !== null && typeof e.name === 'string' && typeof e.message === 'string';
}

/**
 * From the key state (HMGET state, id, error, xid, sid); undefined when the key has none. A task
 * that lost its key to a newer run was superseded, unless it was the one cancelled last (xid) or
 * the settled run the newer one followed (sid, '<task id> <completed|failed>': its error is the
 * newer run's field by then, so not told).
 */
function fromKeyState(taskId: string, [state, id, error, cancelled, settled]: (string | null)[]): Settled | undefined {
  if (!state || !id) return undefined;
  if (id !== taskId) {
    if (cancelled === taskId) return { state: 'cancelled' };
    if (settled === `${taskId} completed`) return { state: 'completed', byKey: true };
    if (settled === `${taskId} failed`) return { state: 'failed' };
    return { state: 'superseded' };
  }
  if (state === 'completed') return { state: 'completed', byKey: true };
  if (state === 'cancelled') return { state: 'cancelled' };
  if (state === 'failed') return { state: 'failed', error: error ? { name: 'Error', message: error } : undefined };
  return PENDING_BY_KEY;
}
