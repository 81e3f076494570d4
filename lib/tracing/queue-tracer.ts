import {
  context,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';
import type { EnqueueWrapper, RunAbort, RunWrapper } from '../stream-queue.instrumentation';
import { LeaseLostError, StreamQueueError } from '../errors';
import { ShutdownAbortError } from '../errors/shutdown-abort.error';
import type { StreamQueueTracingOptions } from './tracing-options.interface';
import { CONSUMER_GROUP } from '../stream-queue.constants';
import { activeSdk, asLocalParent, parentOf } from './active-sdk';
import { deferredParentOf } from './deferred-parent';
import { spanFailure } from './span-failure';
import { encodeCarrier, markedUnsampled } from './trace-carrier';
import { ATTR, MESSAGING_SYSTEM } from './tracing-attributes';

/**
 * @internal The producer side: one PRODUCER span per enqueue call (`send <queue>`; one for a whole
 * enqueueMany, with its message count), whose context every task of the call carries in field t.
 */
export const traceEnqueue: EnqueueWrapper = (calls, send, idsOf) => {
  const tracer = activeSdk()?.tracer;
  if (!tracer) return send(calls);
  const queues = new Set(calls.map((c) => c.queue));
  const queue = queues.size === 1 ? calls[0].queue : undefined;
  const attributes: Attributes = {
    [ATTR.system]: MESSAGING_SYSTEM,
    [ATTR.operationName]: 'send',
    [ATTR.operationType]: 'send',
  };
  if (queue !== undefined) attributes[ATTR.destination] = queue;
  if (calls.length > 1) attributes[ATTR.batchCount] = calls.length;
  else attributes[ATTR.taskName] = calls[0].name;
  if (calls.length === 1 && calls[0].key !== undefined) attributes[ATTR.taskKey] = calls[0].key;
  const parent = context.active();
  const span = tracer.startSpan(queue ? `send ${queue}` : 'send', { kind: SpanKind.PRODUCER, attributes }, parent);
  const active = trace.setSpan(parent, span);
  const field = injected(active, !(span.spanContext().traceFlags & TraceFlags.SAMPLED));
  const traced = field === undefined ? calls : calls.map((call) => ({ ...call, trace: field }));
  return context
    .with(active, () => send(traced))
    .then(
      (sent) => {
        const ids = idsOf(sent);
        if (ids.length === 1) span.setAttribute(ATTR.messageId, ids[0]);
        span.end();
        return sent;
      },
      (error: unknown) => {
        endWithError(span, error);
        throw error;
      },
    );
};

/**
 * The trace field of an enqueue, or undefined when the registered propagator throws: tracing
 * never costs the enqueue, and the span, already started, must still end.
 */
function injected(active: Context, unsampled: boolean): string | undefined {
  const carrier: Record<string, string> = {};
  try {
    propagation.inject(active, carrier);
  } catch {
    return undefined;
  }
  return encodeCarrier(carrier, unsampled);
}

/**
 * @internal The consumer side: one CONSUMER span per run (`process <queue>`), a child of the
 * enqueue's span and linked to it (see the README: one message per run makes the parent
 * unambiguous), active while the handler runs so its own spans nest under it. A run of an
 * unsampled trace starts no span unless the options ask the sampler (see
 * StreamQueueTracingOptions): it runs in the enqueue's context, which carries the decision on.
 */
export function traceRuns(options: Required<StreamQueueTracingOptions>): RunWrapper {
  const followUnsampled = !options.askSamplerForUnsampledTraces;
  return (run, message, ctx, abort) => {
    const sdk = activeSdk();
    if (!sdk) return run();
    // Marked by our producer: no span, and the enqueue's context is read only if the handler asks.
    if (followUnsampled && markedUnsampled(message.trace)) {
      return context.with(deferredParentOf(sdk, message.trace!), run);
    }
    const parent = parentOf(sdk, message.trace);
    const producer = trace.getSpanContext(parent);
    if (followUnsampled && producer && !(producer.traceFlags & TraceFlags.SAMPLED)) {
      return context.with(asLocalParent(parent), run);
    }
    const attributes: Attributes = {
      [ATTR.system]: MESSAGING_SYSTEM,
      [ATTR.operationName]: 'process',
      [ATTR.operationType]: 'process',
      [ATTR.destination]: ctx.queue,
      [ATTR.consumerGroup]: CONSUMER_GROUP,
      [ATTR.messageId]: message.id,
      [ATTR.taskName]: message.name,
      [ATTR.taskAttempt]: message.attempt,
    };
    if (message.key !== undefined) {
      attributes[ATTR.taskKey] = message.key;
      attributes[ATTR.taskGeneration] = message.generation;
    }
    const span = sdk.tracer.startSpan(
      `process ${ctx.queue}`,
      { kind: SpanKind.CONSUMER, attributes, links: producer ? [{ context: producer }] : undefined },
      parent,
    );
    // Arguments rather than a closure: one allocation fewer per run.
    return context.with(trace.setSpan(parent, span), runInSpan, undefined, run, span, abort);
  };
}

/**
 * Calls the handler inside its span's context and ends the span when the handler has ended, as
 * the run ends: a run aborted meanwhile ends as its abort says (see endRun), whatever the handler
 * returned or threw.
 */
function runInSpan(run: () => unknown, span: Span, abort: RunAbort): unknown {
  let returned: unknown;
  try {
    returned = run();
  } catch (error) {
    endRun(span, abort, true, error);
    throw error;
  }
  if (typeof (returned as PromiseLike<unknown> | null)?.then !== 'function') {
    endRun(span, abort, false);
    return returned;
  }
  return Promise.resolve(returned).then(
    (value) => {
      endRun(span, abort, false);
      return value;
    },
    (error: unknown) => {
      endRun(span, abort, true, error);
      throw error;
    },
  );
}

/**
 * Ends a run's span once its handler has ended: in error when it threw, or when the run was
 * aborted meanwhile (timed out, superseded, cancelled), since the run then settles as the abort
 * says, never as the handler returned. A lost lease or the shutdown deadline is no verdict: a
 * handler that returned anyway is settled with its value (TaskRunner), and Redis's fence decides;
 * its span says only why the run was aborted.
 */
function endRun(span: Span, abort: RunAbort, threw: boolean, thrown?: unknown): void {
  if (!abort.isAborted) {
    if (threw) endWithError(span, thrown);
    else span.end();
    return;
  }
  const reason = abort.abortReason;
  if ((reason instanceof LeaseLostError || reason instanceof ShutdownAbortError) && !threw) {
    span.setAttribute(ATTR.runAborted, reason.code);
    span.end();
    return;
  }
  span.setAttribute(ATTR.runAborted, reason instanceof StreamQueueError ? reason.code : spanFailure(reason).type);
  endWithError(span, reason);
}

/**
 * Ends a span in error, recording the thrown value as spanFailure() bounds it: any value, of any
 * size (String() throws on some, a getter may throw), since a throw here would leave the span
 * open and replace the handler's error with its own.
 */
function endWithError(span: Span, error: unknown): void {
  const failure = spanFailure(error);
  span.setAttribute(ATTR.errorType, failure.type);
  if (failure.exception) span.recordException(failure.exception);
  span.setStatus({ code: SpanStatusCode.ERROR, message: failure.message });
  span.end();
}
