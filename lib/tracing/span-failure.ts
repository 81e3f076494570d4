import type { Exception } from '@opentelemetry/api';
import { StreamQueueError } from '../errors';
import { cutText } from '../task/cut-text';
import { guardedRead } from '../task/guarded-read';
import { describeThrown, FAILURE_NAME_MAX, storedFailure } from '../task/task-outcome';

/** @internal The longest stack trace a span's exception event carries, in characters. */
export const SPAN_STACK_MAX = 16_384;

/** @internal A thrown value as a run's span records it. */
export interface SpanFailure {
  /** error.type: the class's name, or, for this package's base error, its code. */
  readonly type: string;
  /** The status message: the message as the stored failure keeps it. */
  readonly message: string;
  /** The exception event's content (an Error's only). */
  readonly exception?: Exception;
}

/**
 * A thrown value as a span records it: name, message, code and stack cut as the stored failure
 * is (storedFailure), since a handler's error of megabytes would otherwise be exported whole with
 * every attempt's span, its message twice (the stack repeats it). Every field is read once and
 * guarded: a getter that throws must not leave the span open.
 */
export function spanFailure(thrown: unknown): SpanFailure {
  const described = describeThrown(thrown);
  const stored = storedFailure(described);
  const { name, message } = stored;
  if (!(thrown instanceof Error)) return { type: typeof thrown, message };
  const type = thrown.constructor === StreamQueueError ? (thrown as StreamQueueError).code : name;
  const code = guardedRead(() => (thrown as { code?: unknown }).code);
  const stack = guardedRead(() => thrown.stack);
  return {
    type,
    message,
    exception: {
      name,
      message,
      ...(typeof code === 'string' || typeof code === 'number'
        ? { code: cutText(String(code), FAILURE_NAME_MAX) }
        : {}),
      ...(typeof stack === 'string' ? { stack: cutStack(stack, described, stored) } : {}),
    },
  };
}

/**
 * A stack with its copies of the name and message (V8 writes `name: message` first, when the
 * stack is first read) cut as they were, then cut as a whole.
 */
function cutStack(
  stack: string,
  whole: { name: string; message: string },
  cut: { name: string; message: string },
): string {
  let from = 0;
  for (const field of ['name', 'message'] as const) {
    const at = whole[field] === cut[field] ? -1 : stack.indexOf(whole[field], from);
    if (at < 0) continue;
    stack = stack.slice(0, at) + cut[field] + stack.slice(at + whole[field].length);
    from = at + cut[field].length;
  }
  return cutText(stack, SPAN_STACK_MAX);
}
