import { isWellFormedText } from '../client/well-formed-text';

/**
 * @internal The last field of a packed stream entry. flow.lua admits a waiting task by appending
 * its room member's fields as they are, one JSON array of (name, value, ...) strings under this
 * field, after fields id and fl: the settle neither decodes them nor spreads them into XADD
 * arguments, and a read returns six values instead of sixteen.
 */
export const PACKED_FIELD = 'j';

/** Where a stream entry's first field j is (its name's index), or -1 when the entry is not packed. */
export function packedAt(raw: readonly string[]): number {
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i] === PACKED_FIELD) return i;
  return -1;
}

/** Whether a stream entry's raw fields are packed: one of them is j. */
export function isPacked(raw: readonly string[]): boolean {
  return packedAt(raw) >= 0;
}

/**
 * The scripts decode j with cjson, which JSON.parse does not match (includes/message.lua
 * fieldList): a j with a control character (cjson takes one raw inside a string) or a lone
 * surrogate (escaped: cjson refuses it) is refused on both sides, so they read one task.
 * cjson.encode, which writes j, escapes every control character and writes no surrogate escape.
 */
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTER = /[\u0000-\u001f]/;

/**
 * A surrogate in `j`'s text, raw or as a `\u` escape. Without one, no value JSON.parse makes of it
 * holds any surrogate (each of its characters is one of the text's or an escape's), so none is
 * lone: the values are checked one by one (isWellFormedText) only when the text has one. A worker
 * unpacks every admitted task's j, and a regex pass per value cost it about what the parse did.
 */
const SURROGATE_OR_ESCAPE = /[\uD800-\uDFFF]|\\u[dD][89a-fA-F]/;

/**
 * @internal A stream entry's task fields as a flat list: a packed entry's first field j replaced by
 * the fields it holds (after the flat fields before it, before any after it: a dead letter that an
 * older version copied adds its reason there; the first value of a name wins, as every reader
 * takes it), any other entry's as they are. A j that is not a non-empty JSON array of name/value
 * strings (anyone can XADD) leaves the entry as it is, read as what it is: one that names no task
 * by its fields. The same rule as includes/message.lua's entryFields in the scripts.
 */
export function unpackedFields(raw: string[]): string[] {
  const at = packedAt(raw);
  if (at < 0 || CONTROL_CHARACTER.test(raw[at + 1])) return raw;
  let list: unknown;
  try {
    list = JSON.parse(raw[at + 1]);
  } catch {
    return raw;
  }
  if (!Array.isArray(list) || list.length === 0 || list.length % 2 !== 0) return raw;
  const checkEach = SURROGATE_OR_ESCAPE.test(raw[at + 1]);
  for (const value of list) if (typeof value !== 'string' || (checkEach && !isWellFormedText(value))) return raw;
  if (raw.length === 2) return list as string[];
  // Built in place: the flat fields before j (an admission's id and fl), the list, what follows.
  const fields = raw.slice(0, at);
  for (const value of list as string[]) fields.push(value);
  for (let i = at + 2; i < raw.length; i++) fields.push(raw[i]);
  return fields;
}
