/** @internal Orders stream entry ids (`<ms>-<seq>`, decimal) the way Redis does. */
export function compareEntryIds(a: string, b: string): number {
  const [am, as] = a.split('-');
  const [bm, bs] = b.split('-');
  return compareDecimal(am, bm) || compareDecimal(as ?? '0', bs ?? '0');
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

function compareDecimal(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}
