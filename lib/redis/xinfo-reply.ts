/** @internal One row of an XINFO GROUPS or CONSUMERS reply (a flat [field, value, …] array), by field. */
export function xinfoRecord(row: unknown[]): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (let i = 0; i + 1 < row.length; i += 2) record[String(row[i])] = row[i + 1];
  return record;
}

/**
 * @internal Group `name`'s row of an XINFO GROUPS reply (one row per group of the stream);
 * undefined when the stream has no such group, or the reply is no list (a failed command's).
 */
export function groupInfo(reply: unknown, name: string): Record<string, unknown> | undefined {
  if (!Array.isArray(reply)) return undefined;
  for (const row of reply as unknown[][]) {
    const info = xinfoRecord(row);
    if (info.name === name) return info;
  }
  return undefined;
}
