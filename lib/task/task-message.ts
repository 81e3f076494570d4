import { isPacked, PACKED_FIELD, unpackedFields } from './packed-fields';

/** @internal A task as read from the stream, after its fields were checked. */
export interface TaskMessage {
  /** Stream entry id of this delivery. */
  readonly entryId: string;
  readonly id: string;
  readonly name: string;
  /** The payload as sent: JSON text, decoded only when the handler runs. */
  readonly payload: string;
  readonly attempt: number;
  readonly key: string | undefined;
  readonly generation: number;
  /** A periodic run's slot (epoch ms); its successor is timed from it. */
  readonly dueAt: number | undefined;
  /**
   * Field r: the task went through the delayed set (a delayed enqueue, a retry), so its result
   * is kept even when the handler returns nothing (result() cannot find it settled otherwise).
   */
  readonly keepResult: boolean;
  /**
   * Field t: the trace context of the enqueue (a propagator's carrier as JSON), when tracing was
   * on. Read only by the tracing integration; a missing or oversized one is simply absent.
   */
  readonly trace: string | undefined;
  /**
   * Field fl: admitted under flow control, so its settle releases its slots (the script checks
   * it holds them), and a retry goes back through admission with its group (gr) and priority
   * (pr). Undefined for a task outside flow control. Field rl (rated): admitted under a rate
   * limit, so its start goes through claim.lua, which counts it in the rate windows.
   */
  readonly flow?: { readonly group?: string; readonly priority?: number; readonly rated?: boolean };
}

/** @internal A delivered entry that cannot become a task, and why. */
export interface MalformedMessage {
  readonly entryId: string;
  readonly reason: string;
}

const MAX_KEY_LENGTH = 1024;
/** @internal A flow group is at most 256 characters (enqueue checks it). */
export const MAX_GROUP_LENGTH = 256;
/** @internal Task ids are UUIDs; task names are at most 128 characters (checkName). */
export const MAX_ID_LENGTH = 256;
/** @internal */
export const MAX_NAME_LENGTH = 128;
/** The highest `maxAttempts` a task can have (resolveTaskOptions): no valid entry counts further. */
const MAX_ATTEMPT = 1_000;
/** A due time is a date before the year 10000 (9999-12-31T23:59:59.999Z). */
const MAX_DUE_MS = 253_402_300_799_999;
/** A trace context is a few hundred characters at most (traceparent 55, tracestate 512). */
export const MAX_TRACE_LENGTH = 1024;
/** Entries have 13 known fields; Lua's unpack() fails on thousands, so a crowd of them is hostile. */
const MAX_FIELD_PAIRS = 64;

/**
 * @internal Checks the raw fields of a stream entry. Anyone can XADD to the stream, so nothing
 * is trusted: a wrong field becomes a reason for the dead-letter stream, never an exception.
 */
export function parseEntry(
  entryId: string,
  raw: string[] | null | undefined,
  maxPayloadBytes = Infinity,
): TaskMessage | MalformedMessage {
  if (!Array.isArray(raw)) return { entryId, reason: 'entry has no fields (deleted while pending?)' };
  // A j that does not unpack leaves the flat fields (the scripts read them so too): a task they
  // name in full still runs; one they do not is malformed, and the reason says why.
  const unpacked = unpackedFields(raw);
  const missing = (field: string) =>
    unpacked === raw && isPacked(raw)
      ? `missing field ${field}: field "${PACKED_FIELD}" is not a JSON array of name/value strings`
      : `missing field ${field}`;
  raw = unpacked;
  if (raw.length > MAX_FIELD_PAIRS * 2) {
    return { entryId, reason: `entry has ${raw.length} values (more than ${MAX_FIELD_PAIRS} name/value pairs)` };
  }
  const f = fieldsOf(raw);
  const id = f.get('id');
  const name = f.get('n');
  const payload = f.get('p');
  if (!id) return { entryId, reason: missing('"id"') };
  if (id.length > MAX_ID_LENGTH) return { entryId, reason: `field "id" is longer than ${MAX_ID_LENGTH} characters` };
  if (!name) return { entryId, reason: missing('"n" (task name)') };
  if (name.length > MAX_NAME_LENGTH)
    return { entryId, reason: `field "n" (task name) is longer than ${MAX_NAME_LENGTH} characters` };
  if (payload === undefined) return { entryId, reason: missing('"p" (payload)') };
  // A string's UTF-8 size is at most three times its length: measure only when it could be over.
  if (payload.length * 3 > maxPayloadBytes && Buffer.byteLength(payload) > maxPayloadBytes) {
    return {
      entryId,
      reason: `payload of ${Buffer.byteLength(payload)} bytes exceeds maxPayloadBytes (${maxPayloadBytes})`,
    };
  }
  const attempt = integer(f.get('a') ?? '1');
  if (!Number.isSafeInteger(attempt) || attempt < 1 || attempt > MAX_ATTEMPT)
    return { entryId, reason: `field "a" (attempt) is not a positive integer up to ${MAX_ATTEMPT}` };
  const key = f.get('k');
  if (key !== undefined && (key.length === 0 || key.length > MAX_KEY_LENGTH)) {
    return { entryId, reason: 'field "k" (key) is empty or too long' };
  }
  const generation = integer(f.get('g') ?? '0');
  if (!Number.isSafeInteger(generation) || generation < 0) {
    return { entryId, reason: 'field "g" (generation) is not a non-negative integer' };
  }
  const due = f.get('d');
  const dueAt = due === undefined ? undefined : integer(due);
  if (dueAt !== undefined && !(Number.isSafeInteger(dueAt) && dueAt <= MAX_DUE_MS)) {
    return { entryId, reason: 'field "d" (due time) is not a date in epoch ms before the year 10000' };
  }
  const keepResult = f.get('r') === '1';
  // Auxiliary: a bad trace field never costs the task, it is dropped.
  const trace = f.get('t');
  return {
    entryId,
    id,
    name,
    payload,
    attempt,
    key,
    generation: key === undefined ? 0 : generation,
    dueAt,
    keepResult,
    trace: trace !== undefined && trace.length > 0 && trace.length <= MAX_TRACE_LENGTH ? trace : undefined,
    flow: f.get('fl') === '1' ? flowOf(f.get('gr'), f.get('pr'), f.get('rl') === '1') : undefined,
  };
}

/** A flow entry's group and priority; one that is not what an enqueue accepts is dropped. */
function flowOf(
  group: string | undefined,
  priority: string | undefined,
  rated: boolean,
): NonNullable<TaskMessage['flow']> {
  const level = priority === undefined ? NaN : integer(priority);
  return {
    ...(rated ? { rated } : {}),
    group:
      group !== undefined && group.length > 0 && group.length <= MAX_GROUP_LENGTH && !group.includes('\0')
        ? group
        : undefined,
    priority: level >= 1 && level <= 10 ? level : undefined,
  };
}

/** Decimal integer text only: Number() would read '', ' ', '0x1f' and '1e3' as numbers. */
function integer(text: string): number {
  return /^\d{1,16}$/.test(text) ? Number(text) : NaN;
}

/**
 * @internal A task's field names, as the scripts' copy lists them (includes/message.lua
 * TASK_FIELDS, what a wide entry's dead letter keeps); test/unit/task-field-names.spec.ts
 * compares them.
 */
export const TASK_FIELD_NAMES = ['id', 'n', 'p', 'a', 'k', 'g', 'd', 'r', 't', 'fl', 'gr', 'pr'] as const;
/** And rl, which an admission under a rate adds (includes/rate.lua). */
const KNOWN = new Set<string>([...TASK_FIELD_NAMES, 'rl']);

/** First value of each known field; a plain loop, since this runs for every message. */
function fieldsOf(raw: string[]): { get(name: string): string | undefined } {
  const values: Record<string, string> = Object.create(null) as Record<string, string>;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i];
    if (KNOWN.has(name) && values[name] === undefined) values[name] = raw[i + 1];
  }
  return { get: (name) => values[name] };
}

export function isMalformed(m: TaskMessage | MalformedMessage): m is MalformedMessage {
  return 'reason' in m;
}
