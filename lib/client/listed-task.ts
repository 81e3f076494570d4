import type { ListedState, ListedTask } from '../interfaces';
import { unpackedFields } from '../task/packed-fields';
import { storedAttempt, storedGeneration, storedPriority } from './key-state-numbers';

/** @internal A flat field list as a map (the first value of a repeated field wins), a packed one unpacked. */
export function fieldsOf(packed: string[]): Map<string, string> {
  const raw = unpackedFields(packed);
  const fields = new Map<string, string>();
  for (let i = 0; i + 1 < raw.length; i += 2) if (!fields.has(raw[i])) fields.set(raw[i], raw[i + 1]);
  return fields;
}

/**
 * @internal A time in ms as a Date, or undefined where no Date holds it: anyone can write an
 * entry id (up to 2^64-1 ms), a score (inf) or a key state's time (`x`: NaN), and an Invalid
 * Date throws where it is printed (toISOString).
 */
export function dateOf(ms: number): Date | undefined {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** The time part of a stream entry id. */
function entryTime(entryId: string): Date | undefined {
  return dateOf(Number(entryId.split('-')[0]));
}

function num(text: string | undefined): number | undefined {
  const n = Number(text);
  return text === undefined || !Number.isFinite(n) ? undefined : n;
}

/**
 * @internal A listed task from a task's fields (stream entry, dead letter or delayed member).
 * Anyone can write them: its numbers read as status(key) reads a key state's (`g -1` listed a
 * generation that never existed, `a 1.5` an attempt), else undefined.
 */
function taskOf(state: ListedState, f: Map<string, string>): ListedTask {
  return {
    state,
    id: f.get('id'),
    name: f.get('n'),
    payload: f.get('p'),
    attempt: storedAttempt(f.get('a')),
    key: f.get('k'),
    generation: storedGeneration(f.get('g')),
    ...(f.has('gr') ? { group: f.get('gr') } : {}),
    ...(f.has('pr') ? { priority: storedPriority(f.get('pr')) } : {}),
  };
}

/** @internal A queued or running task from its stream entry. */
export function streamTaskOf(state: 'queued' | 'running', entryId: string, raw: string[]): ListedTask {
  return { ...taskOf(state, fieldsOf(raw)), entryId, at: entryTime(entryId) };
}

/** JSON text decoded; undefined when it does not decode. */
function parsedJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A delayed member's fields: JSON of its fields; undefined when it does not decode. */
function encodedFieldsOf(text: string): Map<string, string> | undefined {
  const decoded = parsedJson(text);
  if (!decoded) return undefined;
  const entries = typeof decoded === 'object' ? Object.entries(decoded) : [];
  return new Map(entries.filter(([, v]) => typeof v === 'string') as [string, string][]);
}

/** @internal A delayed task from its member (JSON of its fields) and due time. */
export function delayedTaskOf(member: string, due: number): ListedTask {
  const f = encodedFieldsOf(member) ?? new Map([['p', member]]); // shown as it is: the promoter dead-letters it when due
  return { ...taskOf('delayed', f), dueAt: dateOf(due), member };
}

/**
 * @internal A waiting-room member's parts (includes/flow.lua: '<name>\0<group>\0<rank>\0<task
 * id>\0<fields JSON>'): the fields follow its last NUL (JSON text holds none, while a foreign
 * producer's id or a redriven group may); `cursor`, the member before them, orders it among the
 * others.
 */
export function roomMemberParts(member: string): { cursor: string; fields: string } {
  const cut = member.lastIndexOf('\0');
  return cut < 0 ? { cursor: member, fields: '' } : { cursor: member.slice(0, cut), fields: member.slice(cut + 1) };
}

/**
 * @internal A task in the flow waiting room, from its member (see roomMemberParts) and the time
 * it entered the room (flow:entered; null when none is recorded).
 */
export function waitingTaskOf(member: string, enteredMs: string | null): ListedTask {
  const decoded = parsedJson(roomMemberParts(member).fields);
  const raw = Array.isArray(decoded) ? decoded.map(fieldText) : [];
  const entered = enteredMs === null ? undefined : num(enteredMs);
  return {
    ...taskOf('queued', fieldsOf(raw)),
    waitingForSlot: true,
    ...(entered === undefined ? {} : { at: dateOf(entered) }),
  };
}

/**
 * An item of a room member's decoded fields as text: a string as it is, an object or array as
 * its JSON (anyone can ZADD the room: String() throws on `{"toString":1}`, failing the listing
 * of every task), anything else as String() gives it.
 */
function fieldText(item: unknown): string {
  return typeof item === 'object' && item !== null ? JSON.stringify(item) : String(item);
}

/** @internal A room member's task id (see roomMemberParts): what flow:entered records it by. */
export function roomMemberId(member: string): string {
  const { cursor } = roomMemberParts(member);
  // '<name>\0<group>\0<rank, 32 digits>\0<task id>': the id follows the rank's NUL (it may hold NULs).
  const name = cursor.indexOf('\0');
  const group = cursor.indexOf('\0', name + 1);
  return cursor.slice(group + 34);
}

/** @internal A dead letter: the task's fields, its reason and the entry it had. */
export function deadLetterOf(deadLetterId: string, raw: string[]): ListedTask {
  const f = fieldsOf(raw);
  // A delayed member that did not decode is kept as `raw`: show it as the payload.
  if (!f.has('p') && f.has('raw')) f.set('p', f.get('raw')!);
  return {
    ...taskOf('dead', f),
    deadLetterId,
    entryId: f.get('entry'),
    at: entryTime(deadLetterId),
    reason: f.get('reason'),
  };
}
