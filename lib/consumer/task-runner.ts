import { TaskTimeoutError } from '../errors';
import type { TaskContext } from '../interfaces';
import { decodePayload } from '../task/payload-codec';
import { describeThrown, encodeResult } from '../task/task-outcome';
import type { TaskRegistry } from '../task.registry';
import type { Delivery } from './in-flight';
import type { Outcome } from './outcome';
import { ShutdownAbortError } from './shutdown-abort.error';

/**
 * @internal Runs one delivery's handler and turns whatever happens into an Outcome; it never
 * throws, so one bad task cannot end the queue's pipeline.
 */
export class TaskRunner {
  constructor(
    private readonly registry: TaskRegistry,
    private readonly queue: string,
    private readonly consumer: string,
  ) {}

  async run(delivery: Delivery): Promise<Outcome> {
    const { message, controller } = delivery;
    const definition = this.registry.get(message.name);
    if (!definition) {
      const reason = `unknown task "${message.name}"`;
      return { kind: 'failed', delivery, definition, error: { name: 'UnknownTaskError', message: reason }, deadReason: reason };
    }
    let payload: unknown;
    try {
      payload = decodePayload(message.payload);
    } catch (error) {
      const reason = `payload does not decode: ${(error as Error).message}`;
      return { kind: 'failed', delivery, definition, error: { name: 'PayloadError', message: reason }, deadReason: reason };
    }
    const ctx: TaskContext = Object.freeze({
      id: message.id,
      name: message.name,
      queue: this.queue,
      key: message.key,
      generation: message.generation,
      attempt: message.attempt,
      fencingToken: `${message.entryId}/${this.consumer}`,
      signal: controller.signal,
    });
    const { timeoutMs } = definition.options;
    const timer = timeoutMs === undefined ? undefined : setTimeout(
      () => controller.abort(new TaskTimeoutError(`Task "${message.name}" (${message.id}) exceeded its timeout of ${timeoutMs} ms.`)),
      timeoutMs,
    );
    try {
      const value = await untilAborted(Promise.resolve().then(() => definition.handler(payload, ctx)), controller.signal);
      return { kind: 'completed', delivery, definition, result: encodeResult(value), resultTtlMs: definition.options.resultTtlMs };
    } catch (thrown) {
      const reason: unknown = controller.signal.aborted ? controller.signal.reason : thrown;
      if (reason instanceof ShutdownAbortError) return { kind: 'abandoned', delivery };
      return { kind: 'failed', delivery, definition, error: describeThrown(reason) };
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Settles with `work`, or rejects as soon as `signal` aborts (the handler may run on). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => { signal.removeEventListener('abort', onAbort); resolve(v); },
      (e) => { signal.removeEventListener('abort', onAbort); reject(e); },
    );
  });
}
