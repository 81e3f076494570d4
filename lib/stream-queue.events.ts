import { Injectable, Logger } from '@nestjs/common';
import { EventEmitter } from 'node:events';

/**
 * What happens to tasks, as events and running totals.
 * - `reclaimed`: a dead worker's message was taken over by this worker; `detail` is its stream
 *   entry id, and `taskId`, `name` and `key` are the entry's own (absent where it has none).
 * - `lease-lost`: this worker's liveness lapsed (stall, cut network); its runs were aborted.
 * - `completion-refused`: this worker's settle was refused because another worker owns the run.
 * - `superseded`: a run lost to a newer generation, caught at the `head` (before running) or
 *   the `tail` (when settling).
 * @publicApi
 */
export type StreamQueueEventType =
  | 'completed'
  | 'failed'
  | 'retry-scheduled'
  | 'dead-lettered'
  | 'reclaimed'
  | 'lease-lost'
  | 'completion-refused'
  | 'superseded';

/** @publicApi */
export interface StreamQueueEvent {
  readonly type: StreamQueueEventType;
  readonly queue: string;
  readonly taskId?: string;
  readonly name?: string;
  readonly key?: string;
  /** Why: the error message, dead-letter reason, or where a supersession was caught. */
  readonly detail?: string;
  /** How long the handler ran, in ms: on the events of a settle (completed, failed, retry-scheduled, dead-lettered, superseded at the tail, completion-refused) of a run that started. */
  readonly durationMs?: number;
}

/** @publicApi Counter names: event types, with `superseded` split by where it was caught. */
export type StreamQueueCounter = Exclude<StreamQueueEventType, 'superseded'> | 'superseded-head' | 'superseded-tail';

type Listener = (event: StreamQueueEvent) => unknown;

/** @publicApi Injectable view of this process's task events and counters. */
@Injectable()
export class StreamQueueEvents {
  private readonly emitter = new EventEmitter();
  private readonly totals = new Map<StreamQueueCounter, number>();
  /**
   * Each type's listeners as of the last on()/off(), so an emit does not copy them (metrics
   * listen to every settle). Replaced, never changed: an emit under way keeps the array it took,
   * as the emitter's own copy did.
   */
  private readonly heard = new Map<StreamQueueEventType, readonly Listener[]>();

  /** Listens to one event type; returns a function that stops listening. */
  on(type: StreamQueueEventType, listener: (event: StreamQueueEvent) => void): () => void {
    this.emitter.on(type, listener);
    this.heard.delete(type);
    return () => {
      this.emitter.off(type, listener);
      this.heard.delete(type);
    };
  }

  /** Totals since this process started. */
  counters(): Record<StreamQueueCounter, number> {
    const names: StreamQueueCounter[] = [
      'completed',
      'failed',
      'retry-scheduled',
      'dead-lettered',
      'reclaimed',
      'lease-lost',
      'completion-refused',
      'superseded-head',
      'superseded-tail',
    ];
    return Object.fromEntries(names.map((n) => [n, this.totals.get(n) ?? 0])) as Record<StreamQueueCounter, number>;
  }

  /** @internal */
  emit(event: StreamQueueEvent): void {
    const counter =
      event.type === 'superseded' ? (`superseded-${event.detail === 'head' ? 'head' : 'tail'}` as const) : event.type;
    this.totals.set(counter, (this.totals.get(counter) ?? 0) + 1);
    let listeners = this.heard.get(event.type);
    if (!listeners) this.heard.set(event.type, (listeners = this.emitter.listeners(event.type) as Listener[]));
    if (listeners.length === 0) return;
    // Emitted from inside settles, claims and sweeps: a listener's throw (or rejection) is logged,
    // never thrown into them (a settle that threw after Redis settled was retried for ever, its
    // slot held), and never costs the other listeners their event.
    for (const listener of listeners) {
      try {
        const returned = listener(event);
        if (returned instanceof Promise) returned.catch((error: unknown) => listenerFailed(event, error));
      } catch (error) {
        listenerFailed(event, error);
      }
    }
  }
}

const logger = new Logger('StreamQueue');

function listenerFailed(event: StreamQueueEvent, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  logger.error(`A listener of the "${event.type}" task event threw: ${message}`);
}
