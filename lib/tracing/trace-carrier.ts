import { MAX_TRACE_LENGTH } from '../task/task-message';

/**
 * @internal The trace field (t) of a message: the propagator's carrier (traceparent, tracestate,
 * or whatever the registered propagator writes) as a JSON object of strings. Undefined when it
 * would be empty or longer than a message may carry: the task then simply has no producer context.
 */
export function encodeCarrier(carrier: Record<string, string>): string | undefined {
  const text = JSON.stringify(carrier);
  return text === '{}' || text.length > MAX_TRACE_LENGTH ? undefined : text;
}

/** Most fields a carrier may have: W3C uses two, B3 up to five; more is not a trace context. */
const MAX_CARRIER_FIELDS = 8;

/**
 * @internal The carrier of a message's trace field, or undefined when it is not one. Anyone can
 * write to the stream: a field that is not a small JSON object of strings is ignored, never thrown.
 */
export function decodeCarrier(text: string | undefined): Record<string, string> | undefined {
  if (text === undefined || text.length > MAX_TRACE_LENGTH || text[0] !== '{') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const names = Object.keys(parsed);
  if (names.length > MAX_CARRIER_FIELDS) return undefined;
  // A null prototype: a "__proto__" field is plain data here.
  const carrier = Object.create(null) as Record<string, string>;
  for (const name of names) {
    const value = (parsed as Record<string, unknown>)[name];
    if (typeof value !== 'string') return undefined;
    carrier[name] = value;
  }
  return carrier;
}

/**
 * A carrier field of our own, written by an enqueue whose span was not sampled. Propagators read
 * only their own fields, so it travels unseen; it lets a run see the decision without extracting.
 */
const UNSAMPLED_FIELD = 'sq-unsampled';
const UNSAMPLED_TEXT = `"${UNSAMPLED_FIELD}":"1"`;

/** @internal Marks a carrier as that of an unsampled enqueue. */
export function markUnsampled(carrier: Record<string, string>): void {
  carrier[UNSAMPLED_FIELD] = '1';
}

/**
 * @internal Whether a trace field carries the mark: a text search, no parse. A field that merely
 * contains the text is at worst a run with no span of its own whose context, if ever read, is
 * whatever the field extracts to (the root, for a field that is not a carrier).
 */
export function isMarkedUnsampled(field: string | undefined): boolean {
  return field !== undefined && field.includes(UNSAMPLED_TEXT);
}
