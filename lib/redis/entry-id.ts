/** @internal Orders stream entry ids (`<ms>-<seq>`, decimal) the way Redis does. */
export function compareEntryIds(a: string, b: string): number {
  const [am, as] = a.split('-');
  const [bm, bs] = b.split('-');
  return compareDecimal(am, bm) || compareDecimal(as ?? '0', bs ?? '0');
}

function compareDecimal(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}
