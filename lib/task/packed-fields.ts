/**
 * @internal The last field of a packed stream entry. flow.lua admits a waiting task by appending
 * its room member's fields as they are, one JSON array of (name, value, ...) strings under this
 * field, after fields id and fl: the settle neither decodes them nor spreads them into XADD
 * arguments, and a read returns six values instead of sixteen.
 */
export const PACKED_FIELD = 'j';

/** Whether a stream entry's raw fields are packed: its last field is j. */
export function isPacked(raw: readonly string[]): boolean {
  return raw.length >= 2 && raw.length % 2 === 0 && raw[raw.length - 2] === PACKED_FIELD;
}

/**
 * @internal A stream entry's task fields as a flat list: a packed entry's flat fields followed by
 * those its j holds (the first value of a name wins, as every reader takes it), any other entry's
 * as they are. A j that is not a non-empty JSON array of name/value strings (anyone can XADD)
 * leaves the entry as it is, read as what it is: one that names no task by its fields. The same
 * rule as includes/message.lua's entryFields in the scripts.
 */
export function unpackedFields(raw: string[]): string[] {
  if (!isPacked(raw)) return raw;
  let list: unknown;
  try {
    list = JSON.parse(raw[raw.length - 1]);
  } catch {
    return raw;
  }
  if (!Array.isArray(list) || list.length === 0 || list.length % 2 !== 0) return raw;
  for (const value of list) if (typeof value !== 'string') return raw;
  return raw.length === 2 ? (list as string[]) : [...raw.slice(0, -2), ...(list as string[])];
}
