/** @internal What is stored under a task's result key, JSON-encoded. */
export type StoredResult = { ok: true; value?: unknown } | { ok: false; error: { name: string; message: string } };

const NO_VALUE = JSON.stringify({ ok: true });

export function encodeResult(value: unknown): string {
  if (value === undefined) return NO_VALUE;
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
