import { MAX_TRACE_LENGTH } from '../task/task-message';

/**
 * A carrier field of our own, beside what the propagator wrote, when the enqueue's trace is not
 * sampled. Propagators read only their own fields, so it travels unseen; it lets a run see the
 * decision without extracting the context.
 */
const UNSAMPLED_TEXT = '"sq-unsampled":"1"';
/** How a marked field ends: the mark goes last. */
const MARKED_ENDING = `,${UNSAMPLED_TEXT}}`;

/**
 * @internal The trace field (t) of a message: the propagator's carrier (traceparent, tracestate,
 * or whatever the registered propagator writes) as a JSON object of strings, plus our mark when
 * the enqueue's trace is not sampled (see markedUnsampled). Undefined when the carrier is empty or
 * longer than a message may carry: the task then simply has no producer context. A carrier that
 * fits only without the mark goes unmarked: its runs extract it to see the decision.
 */
export function encodeCarrier(carrier: Record<string, string>, unsampled = false): string | undefined {
  const text = JSON.stringify(carrier);
  if (text === '{}' || text.length > MAX_TRACE_LENGTH) return undefined;
  if (!unsampled) return text;
  const marked = `${text.slice(0, -1)}${MARKED_ENDING}`;
  return marked.length <= MAX_TRACE_LENGTH ? marked : text;
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
 * @internal Whether a trace field carries the mark: a look at its end, no parse, no search (this
 * runs per run). A field that merely ends so is at worst a run with no span of its own whose
 * context, if ever read, is whatever the field extracts to (the root, for a field that is not a
 * carrier); a mark anywhere else is not ours, and the run extracts the field to decide.
 */
export function markedUnsampled(field: string | undefined): boolean {
  return field !== undefined && field.endsWith(MARKED_ENDING);
}
