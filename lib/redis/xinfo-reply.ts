/** @internal One row of an XINFO GROUPS or CONSUMERS reply (a flat [field, value, …] array), by field. */
export function xinfoRecord(row: unknown[]): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (let i = 0; i + 1 < row.length; i += 2) record[String(row[i])] = row[i + 1];
  return record;
}
