import { unpackedFields } from './packed-fields';

/** A key no enqueue writes: empty, or longer than enqueue allows (task-message.ts). */
const MAX_KEY_LENGTH = 1024;

/** @internal What names the task of a stream entry that may not parse as one (anyone can XADD). */
export interface EntryIdentity {
  /** The entry's fields, a packed entry's unpacked (undefined for an entry deleted while pending). */
  readonly fields: readonly string[] | undefined;
  readonly taskId: string | undefined;
  readonly name: string | undefined;
  /** Undefined too when the entry's k is not a key an enqueue writes. */
  readonly key: string | undefined;
}

/**
 * @internal The task id, name and key of a stream entry's raw fields, read as the scripts read
 * them (includes/message.lua: a packed entry unpacked, the first value of a field wins), for the
 * events and dead letters of entries that need not be well formed.
 */
export function entryIdentity(raw: string[] | null | undefined): EntryIdentity {
  const fields = Array.isArray(raw) ? unpackedFields(raw) : undefined;
  const key = firstValue(fields, 'k');
  return {
    fields,
    taskId: firstValue(fields, 'id'),
    name: firstValue(fields, 'n'),
    key: key !== undefined && key.length > 0 && key.length <= MAX_KEY_LENGTH ? key : undefined,
  };
}

/** The first value of a field, as the Lua side (includes/dead-letter-entry.lua fieldOf) reads it. */
export function firstValue(fields: readonly string[] | undefined, name: string): string | undefined {
  if (!fields) return undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}
