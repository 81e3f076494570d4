import { Logger } from '@nestjs/common';
import { LeaseLostError, TaskTimeoutError } from '../errors';
import type { TaskContext } from '../interfaces';
import { decodePayload } from '../task/payload-codec';
import { timeoutAfterPendingIo } from '../race-timeout';
import { STOP_HANDLER } from '../task/handler-stop';
import { HANDLER_CALLED } from '../task/handler-call';
import { settleObservable } from '../task/handler-observable';
import { periodicKey } from '../task/schedule';
import { describeThrown, encodeResult } from '../task/task-outcome';
import type { RunWrapper } from '../stream-queue.instrumentation';
import type { TaskDefinition, TaskRegistry } from '../task/task.registry';
import type { Delivery } from './delivery';
import { ALWAYS_HELD, stillOwned, type Lease } from './lease';
import type { Outcome } from './outcome';
import { ShutdownAbortError } from '../errors/shutdown-abort.error';

const chainLogger = new Logger('StreamQueue');

/**
 * @internal Runs one delivery's handler and turns whatever happens into an Outcome; it never
 * throws, so one bad task cannot end the queue's pipeline.
 */
export class TaskRunner {
  constructor(
    private readonly registry: TaskRegistry,
    private readonly queue: string,
    private readonly consumer: string,
    private readonly lease: Lease = ALWAYS_HELD,
    /** Tracing, interceptors, async context: undefined when none is on (the handler is called directly). */
    private readonly wrap?: RunWrapper,
  ) {}

  async run(delivery: Delivery): Promise<Outcome> {
    // Proven ours when Redis handed it over; still ours only if the lease held since then.
    if (!delivery.isAborted && !stillOwned(this.lease, delivery.provenAt)) {
      delivery.abort(
        new LeaseLostError(
          'This worker cannot prove it still owns the run (its lease is unconfirmed, or lapsed since Redis handed the run over): it was not started.',
        ),
      );
      // Its claim marked it running under the liveness value, which may never change (see Lease).
      if (delivery.message.key !== undefined) this.lease.keyedRunUnstarted?.(delivery.provenAt);
    }
    const { message } = delivery;
    const definition = this.registry.get(message.name);
    if (!definition) {
      const why = this.registry.whyMissing(message.name);
      return undeliverable(
        delivery,
        definition,
        'UnknownTaskError',
        `unknown task "${message.name}"${why ? `: ${why}` : ''}`,
      );
    }
    const { schedule, queue } = definition.options;
    if (
      message.dueAt !== undefined &&
      message.key === periodicKey(message.name) &&
      (!schedule || queue !== this.queue)
    ) {
      // Acked without running. A chain left behind by a deploy that moved the task (or made it
      // non-periodic) ends here; one a deploy started after this worker booted (a rolling deploy
      // runs both versions) goes on: its settle decides (see settle-calls.ts, successor.lua).
      chainLogger.log(
        `Periodic task "${message.name}" is no longer defined on queue "${this.queue}": its run is skipped, and its chain there ends unless a worker that booted later defines it.`,
      );
      return { kind: 'completed', delivery, definition, result: '', resultTtlMs: 0 };
    }
    let payload: unknown;
    try {
      payload = decodePayload(message.payload);
    } catch (error) {
      const reason = `payload does not decode: ${(error as Error).message}`;
      return undeliverable(delivery, definition, 'PayloadError', reason);
    }
    // Aborted while it waited for a slot (superseded, cancelled, lease lost): it never starts.
    if (delivery.isAborted) return this.abortedOutcome(delivery, definition);
    const ctx = new RunContext(delivery, this.queue, this.consumer);
    const { timeoutMs } = definition.options;
    // Once the replies that came meanwhile are read: a reply the handler awaited that waited in a
    // socket while another run blocked the event loop past the deadline lets it return in time.
    const stopTimeout =
      timeoutMs === undefined
        ? undefined
        : timeoutAfterPendingIo(timeoutMs, () =>
            delivery.abort(
              new TaskTimeoutError(`Task "${message.name}" (${message.id}) exceeded its timeout of ${timeoutMs} ms.`),
            ),
          );
    const startedAt = performance.now();
    delivery.handlerCalled = true;
    try {
      // An Observable a handler returns runs as a Promise would (see settleObservable), inside
      // the wrapper: a trace's span covers it until it completes.
      const call = () => settleObservable(definition.handler(payload, ctx), delivery);
      const returned = this.wrap ? this.wrap(call, message, ctx, delivery) : call();
      if (!isPromiseLike(returned)) {
        if (!delivery.isAborted) return this.completedOutcome(delivery, definition, returned);
        delivery.lateValue = { value: returned }; // a synchronous handler that blocked past its abort
        throw delivery.abortReason;
      }
      const value = await delivery.settleWith(Promise.resolve(returned));
      return this.completedOutcome(delivery, definition, value);
    } catch (thrown) {
      if (!delivery.isAborted) return { kind: 'failed', delivery, definition, error: describeThrown(thrown) };
      // A lost lease is a precaution, not a verdict: a handler that finished anyway is settled,
      // and Redis's fence decides (completed if this worker still owns the run, else refused).
      // So is one that finished past the shutdown deadline, while the closing worker still holds
      // its lease: left pending, its finished run would run again on the worker that takes it.
      const late = delivery.lateValue;
      const reason = delivery.abortReason;
      // encodeResult never throws: a result that does not serialise fails the run (ResultError).
      if ((reason instanceof LeaseLostError || reason instanceof ShutdownAbortError) && late)
        return this.completedOutcome(delivery, definition, late.value);
      return this.abortedOutcome(delivery, definition);
    } finally {
      stopTimeout?.();
      delivery.runMs = performance.now() - startedAt;
    }
  }

  /**
   * A value JSON cannot encode fails the run, dead-lettered at once: completed with a ResultError
   * stored as its result, its result() rejected while its key state and status() said completed,
   * and nothing was dead-lettered. Never retried: the handler ran to its end, so a retry would
   * repeat its side effects to return the same value again.
   */
  private completedOutcome(delivery: Delivery, definition: TaskDefinition, value: unknown): Outcome {
    const encoded = encodeResult(value);
    if ('error' in encoded) {
      const { error } = encoded;
      const deadReason = `returned a value that cannot be stored: ${error.name}: ${error.message}`;
      return { kind: 'failed', delivery, definition, error, deadReason };
    }
    return {
      kind: 'completed',
      delivery,
      definition,
      result: encoded.stored,
      resultTtlMs: definition.options.resultTtlMs,
    };
  }

  /**
   * A shutdown or a lost lease leaves an unfinished run (it threw, or never began) pending, for
   * this worker's next sweep or another worker's reclaim: neither says anything about the task,
   * so it must not cost an attempt or dead-letter a healthy task. Any other abort (timeout, cancel, superseded) settles
   * it as failed.
   */
  private abortedOutcome(delivery: Delivery, definition: TaskDefinition): Outcome {
    const reason = delivery.abortReason;
    if (reason instanceof ShutdownAbortError || reason instanceof LeaseLostError)
      return { kind: 'abandoned', delivery };
    return { kind: 'failed', delivery, definition, error: describeThrown(reason) };
  }
}

/** The TaskContext a handler sees; `signal` is made on first use. */
class RunContext implements TaskContext {
  readonly id: string;
  readonly name: string;
  readonly key: string | undefined;
  readonly generation: number;
  readonly attempt: number;
  readonly fence: number;
  readonly startedAt?: number;

  constructor(
    private readonly delivery: Delivery,
    readonly queue: string,
    private readonly consumer: string,
  ) {
    const m = delivery.message;
    this.id = m.id;
    this.name = m.name;
    this.key = m.key;
    this.generation = m.generation;
    this.attempt = m.attempt;
    this.fence = delivery.fence ?? unkeyedFence(m.attempt, delivery.deliveries);
    if (delivery.startedAt !== undefined) this.startedAt = delivery.startedAt;
  }

  get fencingToken(): string {
    return `${this.delivery.message.entryId}/${this.consumer}`;
  }

  get signal(): AbortSignal {
    return this.delivery.signal;
  }

  /** An interceptor gave up on the handler (see TaskEnhancers): on the prototype, no cost per run. */
  [STOP_HANDLER](reason: unknown): void {
    this.delivery.askHandlerToStop(reason);
  }

  /** Whether an interceptor chain called the handler yet (see noteHandlerCall). */
  [HANDLER_CALLED](called: boolean): void {
    this.delivery.handlerCalled = called;
  }
}

/**
 * A task without a key orders its runs by attempt, then by delivery of that attempt's stream
 * entry (a takeover redelivers it): both only grow. Deliveries stay far below 2^20 (a message
 * delivered maxDeliveries times is dead-lettered), and attempts (at most 1,000) keep the product
 * a safe integer.
 */
function unkeyedFence(attempt: number, deliveries: number): number {
  return attempt * 2 ** 20 + Math.min(deliveries, 2 ** 20 - 1);
}

/** A message no attempt can run: it fails straight to the dead-letter stream with `reason`. */
function undeliverable(
  delivery: Delivery,
  definition: TaskDefinition | undefined,
  errorName: string,
  reason: string,
): Outcome {
  return { kind: 'failed', delivery, definition, error: { name: errorName, message: reason }, deadReason: reason };
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}
