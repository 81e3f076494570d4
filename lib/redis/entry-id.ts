/** @internal Orders stream entry ids (`<ms>-<seq>`, decimal) the way Redis does. */
export function compareEntryIds(a: string, b: string): number {
  // Allocation-free: this runs over every id of every settled batch.
  const da = a.indexOf('-');
  const db = b.indexOf('-');
  return (
    compareDigits(a, 0, da < 0 ? a.length : da, b, 0, db < 0 ? b.length : db) ||
    compareDigits(a, da < 0 ? a.length : da + 1, a.length, b, db < 0 ? b.length : db + 1, b.length)
  );
}

/** @internal The lowest and highest of some entry ids, in one pass. */
export function entryIdRange(ids: readonly string[]): [string, string] {
  let low = ids[0];
  let high = ids[0];
  for (let i = 1; i < ids.length; i++) {
    if (compareEntryIds(ids[i], low) < 0) low = ids[i];
    else if (compareEntryIds(ids[i], high) > 0) high = ids[i];
  }
  return [low, high];
}

/** Compares the decimal numbers a[as, ae) and b[bs, be) (no leading zeros in stream ids). */
function compareDigits(a: string, as: number, ae: number, b: string, bs: number, be: number): number {
  if (ae - as !== be - bs) return ae - as - (be - bs);
  for (let i = 0; i < ae - as; i++) {
    const d = a.charCodeAt(as + i) - b.charCodeAt(bs + i);
    if (d !== 0) return d;
  }
  return 0;
}

const ENTRY_ID = /^(\d{1,20})-(\d{1,20})$/;
/** Each part of an entry id is an unsigned 64-bit integer. */
const MAX_PART = 18446744073709551615n;
const MAX_ENTRY_ID = `${MAX_PART}-${MAX_PART}`;
const MIN_ENTRY_ID = '0-0';

/**
 * @internal `text` as an explicit entry id Redis accepts (`<ms>-<seq>`, each part at most 2^64-1),
 * in canonical form (no leading zeros, as compareEntryIds needs); undefined when Redis would refuse it.
 * Twenty digits alone let parts past 2^64 through, which Redis answers with a raw reply error.
 */
export function parseEntryId(text: unknown): string | undefined {
  const match = typeof text === 'string' ? ENTRY_ID.exec(text) : null;
  if (!match) return undefined;
  const [ms, seq] = [BigInt(match[1]), BigInt(match[2])];
  return ms <= MAX_PART && seq <= MAX_PART ? `${ms}-${seq}` : undefined;
}

/**
 * @internal An XRANGE start just past `after` ('-' without one); undefined when no id can follow
 * it: Redis refuses an exclusive start at the largest id instead of answering an empty range.
 */
export function startPast(after: string | undefined): string | undefined {
  if (!after) return '-';
  return after === MAX_ENTRY_ID ? undefined : `(${after}`;
}

/**
 * @internal An XREVRANGE end just before `before` ('+' without one); undefined when no id can
 * precede it: Redis refuses an exclusive end at 0-0 instead of answering an empty range.
 */
export function endBefore(before: string | undefined): string | undefined {
  if (!before) return '+';
  return before === MIN_ENTRY_ID ? undefined : `(${before}`;
}

/**
 * @internal The smallest entry id greater than `id` (canonical, as parseEntryId gives it), as an
 * `XTRIM MINID` threshold that removes `id` and every entry before it; undefined past the largest.
 */
export function idAfter(id: string): string | undefined {
  const dash = id.indexOf('-');
  const [ms, seq] = [BigInt(id.slice(0, dash)), BigInt(id.slice(dash + 1))];
  if (seq < MAX_PART) return `${ms}-${seq + 1n}`;
  return ms < MAX_PART ? `${ms + 1n}-0` : undefined;
}
