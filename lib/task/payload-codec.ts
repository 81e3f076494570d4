import { PayloadError } from '../errors';
import { describeThrown } from './task-outcome';

/** @internal JSON-encodes a payload at the enqueue boundary; throws PayloadError, writes nothing. */
export function encodePayload(taskName: string, payload: unknown, maxBytes: number): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(payload === undefined ? null : payload);
  } catch (error) {
    // A payload's getter or toJSON may throw anything (null, a string): `.message` of null threw a TypeError.
    // What it threw is the cause: its type and stack tell the encoder's TypeError from a toJSON's own.
    throw new PayloadError(taskName, `not serialisable as JSON (${describeThrown(error).message})`, undefined, {
      cause: error,
    });
  }
  if (json === undefined) throw new PayloadError(taskName, `a ${typeof payload} is not serialisable as JSON`);
  const bytes = Buffer.byteLength(json);
  if (bytes > maxBytes) throw new PayloadError(taskName, `${bytes} bytes exceed maxPayloadBytes (${maxBytes})`);
  return json;
}

/** @internal Decodes a payload for its handler; the caller dead-letters on throw. */
export function decodePayload(json: string): unknown {
  return JSON.parse(json);
}
