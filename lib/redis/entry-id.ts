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
