import { cutText } from './cut-text';
import { guardedRead } from './guarded-read';

/** @internal The longest handler error message stored (result key, dead letter, key state), in characters. */
export const FAILURE_MESSAGE_MAX = 8_192;
/** @internal The longest handler error name stored, in characters. */
export const FAILURE_NAME_MAX = 256;

/** @internal What is stored under a task's result key, JSON-encoded. */
export type StoredResult = { ok: true; value?: unknown } | { ok: false; error: { name: string; message: string } };

/** A handler's return value as its result key stores it, or why it cannot be stored. */
export type EncodedResult = { readonly stored: string } | { readonly error: { name: string; message: string } };

/**
 * What a handler's return value is stored as. A handler that returned nothing stores nothing
 * (''): complete.lua writes no key for it, or `{"ok":true}` where the result must be kept. A
 * value JSON cannot encode (a BigInt, a circular object, a toJSON that throws) is a ResultError,
 * cut as storedFailure() cuts: the run fails with it (task-runner.ts), so its status, its
 * result() and its attempts all say so.
 */
export function encodeResult(value: unknown): EncodedResult {
  if (value === undefined) return { stored: '' };
  try {
    return { stored: JSON.stringify({ ok: true, value }) };
  } catch (error) {
    const message = `result not serialisable: ${guardedRead(() => String((error as Error).message)) ?? ''}`;
    return { error: storedFailure({ name: 'ResultError', message }) };
  }
}

/** A failure as its result key keeps it: name and message cut as storedFailure() cuts them. */
export function encodeFailure(error: { name: string; message: string }): string {
  const { name, message } = storedFailure(error);
  return JSON.stringify({ ok: false, error: { name, message } });
}

/**
 * @internal A handler's error as Redis keeps it (result key, dead letter, key state): a message
 * or name of any size would be sent on every attempt and stored three times, so each is cut
 * past FAILURE_MESSAGE_MAX / FAILURE_NAME_MAX characters, saying so.
 */
export function storedFailure(error: { name: string; message: string }): { name: string; message: string } {
  return { name: cutText(error.name, FAILURE_NAME_MAX), message: cutText(error.message, FAILURE_MESSAGE_MAX) };
}

/** Any thrown value as a name and message (handlers may throw strings, objects, null). */
export function describeThrown(thrown: unknown): { name: string; message: string } {
  if (thrown instanceof Error)
    return { name: textOf(() => thrown.name, 'Error'), message: textOf(() => thrown.message, '') };
  try {
    return { name: 'NonError', message: typeof thrown === 'string' ? thrown : String(JSON.stringify(thrown)) };
  } catch {
    return { name: 'NonError', message: String(thrown) };
  }
}

/**
 * An Error's field as text: anything can be assigned to it (a number, an object) or be a getter
 * that throws, and the stored failure must be text of a bounded length.
 */
function textOf(read: () => unknown, otherwise: string): string {
  return (
    guardedRead(() => {
      const value = read();
      return typeof value === 'string' ? value : String(value);
    }) ?? otherwise
  );
}
