/** @internal What is stored under a task's result key, JSON-encoded. */
export type StoredResult = { ok: true; value?: unknown } | { ok: false; error: { name: string; message: string } };

/**
 * What a handler's return value is stored as. A handler that returned nothing stores nothing
 * (''): complete.lua writes no key for it, or `{"ok":true}` where the result must be kept.
 */
export function encodeResult(value: unknown): string {
  if (value === undefined) return '';
  try {
    return JSON.stringify({ ok: true, value });
  } catch (error) {
    return encodeFailure({ name: 'ResultError', message: `result not serialisable: ${(error as Error).message}` });
  }
}

export function encodeFailure(error: { name: string; message: string }): string {
  return JSON.stringify({ ok: false, error: { name: error.name, message: error.message } });
}

/** Any thrown value as a name and message (handlers may throw strings, objects, null). */
export function describeThrown(thrown: unknown): { name: string; message: string } {
  if (thrown instanceof Error) return { name: thrown.name, message: thrown.message };
  try {
    return { name: 'NonError', message: typeof thrown === 'string' ? thrown : String(JSON.stringify(thrown)) };
  } catch {
    return { name: 'NonError', message: String(thrown) };
  }
}
