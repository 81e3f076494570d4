import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Observable } from 'rxjs';
import {
  EnqueueManyError,
  InvalidOptionError,
  KeyConflictError,
  UnknownTaskError,
  type EnqueueManyResult,
} from '../errors';
import type { EnqueueItem, EnqueueOptions, ReplaceOptions, TaskState, TaskStatus } from '../interfaces';
import type {
  ListedState,
  ListedTask,
  PageOptions,
  QueueCounts,
  QueueState,
  RedriveAllResult,
  TaskPage,
} from '../interfaces';
import { QueueKeys } from '../redis/keys';
import { RedisConnections } from '../redis/redis-connections';
import { runScript } from '../redis/scripts';
import type { StreamQueueConfig } from '../stream-queue.config';
import { DEFAULT_QUEUE, STREAM_QUEUE_CONFIG } from '../stream-queue.constants';
import { StreamQueueInstrumentation } from '../stream-queue.instrumentation';
import { checkName } from '../task-options';
import { encodePayload } from '../task/payload-codec';
import { periodicScriptArgs, type PeriodicReply } from '../task/periodic-call';
import { parseEvery, periodicKey } from '../task/schedule';
import { TaskRegistry } from '../task.registry';
import { FleetReads } from './fleet-reads';
import type { FleetEvent } from './fleet-events';
import { enqueueScriptArgs, type EnqueueCall, type EnqueueReply } from './enqueue-call';
import { sendEnqueueMany } from './enqueue-many';
import { PlainEnqueueBatcher } from './plain-enqueue-batcher';
import { ResultWaiter } from './result-waiter';
import { readSettled } from './settled-state';
import { TaskHandle } from './task-handle';

const MAX_KEY_LENGTH = 1024;

/**
 * Enqueues tasks and reads their state. Every call validates its arguments before anything is
 * written: a bad call throws a typed error (`UnknownTaskError`, `PayloadError`,
 * `InvalidOptionError`) and writes nothing.
 * @publicApi
 */
@Injectable()
export class QueueClient {
  private readonly queueKeys = new Map<string, QueueKeys>();
  private readonly plainEnqueues: PlainEnqueueBatcher;
  private readonly fleet: FleetReads;

  constructor(
    @Inject(STREAM_QUEUE_CONFIG) private readonly config: StreamQueueConfig,
    private readonly connections: RedisConnections,
    private readonly registry: TaskRegistry,
    private readonly waiter: ResultWaiter,
    private readonly instrumentation: StreamQueueInstrumentation,
  ) {
    this.plainEnqueues = new PlainEnqueueBatcher(connections.commands);
    this.fleet = new FleetReads(connections.commands, (queue) => this.keysOf(queue), config.resultTtlMs);
  }

  // Fleet-wide reads and repairs (lib/client/fleet-reads.ts): what Redis holds, for every worker.
  /** The queue's counts, in one Redis command: cheap enough for every metrics scrape. */
  counts = (queue?: string): Promise<QueueCounts> => this.fleet.counts(queue);
  /** The queue's counts plus its consumers and their liveness. */
  inspect = (queue?: string): Promise<QueueState> => this.fleet.state(queue);
  /** A page of queued, delayed, running tasks or dead letters; pass the returned cursor for the next. */
  list = (state: ListedState, options?: PageOptions): Promise<TaskPage> => this.fleet.list(state, options);
  /** A task by id wherever it is, with its stored result (JSON text) if any. */
  findTask = (id: string, options?: { queue?: string }): Promise<{ task?: ListedTask; result: string | null }> =>
    this.fleet.findTask(id, options);
  /** Removes a queued or delayed task by id (never a running one: TaskRunningError). */
  remove = (id: string, options?: { queue?: string }): Promise<void> => this.fleet.remove(id, options);
  /** Puts a dead letter's task back in the stream: same id and key, attempt 1. Returns its entry id. */
  redrive = (deadLetterId: string, options?: { queue?: string }): Promise<string> =>
    this.fleet.redrive(deadLetterId, options);
  /** Redrives every dead letter that can be. */
  redriveAll = (options?: { queue?: string }): Promise<RedriveAllResult> => this.fleet.redriveAll(options);
  /** Deletes the given dead letters, or all; returns how many. */
  purgeDeadLetters = (options?: { queue?: string; ids?: readonly string[] }): Promise<number> =>
    this.fleet.purge(options);
  /** The task events of every worker of the fleet on `queue`, through Redis; workers publish only while watched. */
  events = (queue?: string): Observable<FleetEvent> => this.fleet.events(queue);

  /** Adds a task; with `options.key`, returns the live run of that key instead of adding another. */
  async enqueue<P = unknown, R = unknown>(
    name: string,
    payload: P,
    options: EnqueueOptions = {},
  ): Promise<TaskHandle<R>> {
    return this.send<R>(this.call(name, payload, options, 'add'));
  }

  /**
   * Adds many tasks in one round trip (a pipeline); all are validated before any is sent. When
   * Redis refuses some of them, throws `EnqueueManyError`, which says per item whether it was
   * written (its handle) or not (its error).
   */
  async enqueueMany<R = unknown>(items: readonly EnqueueItem[]): Promise<TaskHandle<R>[]> {
    if (!Array.isArray(items)) throw new InvalidOptionError('items', 'an array of { name, payload, options? }', items);
    const calls = items.map((item, i) => {
      if (item == null || typeof item !== 'object')
        throw new InvalidOptionError(`items[${i}]`, 'an object { name, payload, options? }', item);
      return this.call(item.name, item.payload, item.options ?? {}, 'add');
    });
    if (calls.length === 0) return [];
    const sendAll = (sent: readonly EnqueueCall[]) =>
      sendEnqueueMany(this.connections.commands, sent, (queue) => this.keysOf(queue));
    const wrap = this.instrumentation.enqueue;
    const outcomes = await (wrap
      ? wrap(calls, sendAll, (sent) => sent.flatMap((o) => ('reply' in o ? [o.reply[0]] : [])))
      : sendAll(calls));
    const results: EnqueueManyResult<R>[] = outcomes.map((outcome, i) => {
      if ('error' in outcome) return outcome;
      try {
        return { handle: this.toHandle<R>(calls[i], outcome.reply) };
      } catch (error) {
        return { error: error as Error }; // KeyConflictError: nothing was written for this item
      }
    });
    if (results.some((result) => 'error' in result)) throw new EnqueueManyError<R>(results);
    return results.map((result) => (result as { handle: TaskHandle<R> }).handle);
  }

  /**
   * Supersedes every older run of `options.key`: what is queued or delayed never starts, and a
   * running one has its `ctx.signal` aborted and, when it finishes, writes nothing. On a
   * periodic key (`periodic:<name>`), `every` re-times the slots that follow.
   */
  async replace<P = unknown, R = unknown>(name: string, payload: P, options: ReplaceOptions): Promise<TaskHandle<R>> {
    if (options == null || typeof options.key !== 'string') {
      throw new InvalidOptionError('key', 'a non-empty string (replace() acts on a task key)', options?.key);
    }
    return this.send<R>(this.call(name, payload, options, 'replace'));
  }

  /** Cancels the live run of `key`: queued or delayed, it never starts; running, its signal aborts. */
  async cancel(key: string, options: { queue?: string } = {}): Promise<boolean> {
    checkKey(key);
    const keys = this.keysOf(this.queueOption(options));
    const done = await runScript<number>(
      this.connections.commands,
      'cancel',
      [keys.stream, keys.delayed, keys.keyState(key), keys.seq],
      [this.config.resultTtlMs, keys.controlChannel, key, keys.doneChannel],
    );
    return done === 1;
  }

  /** The state of the latest run of `key`, or null when the key has none (or it expired). */
  async status(key: string, options: { queue?: string } = {}): Promise<TaskStatus | null> {
    checkKey(key);
    const state = await this.connections.commands.hgetall(this.keysOf(this.queueOption(options)).keyState(key));
    if (!state.state) return null;
    const date = (field: string) => (state[field] ? new Date(Number(state[field])) : undefined);
    return {
      state: state.state as TaskState,
      id: state.id,
      key,
      generation: Number(state.gen ?? 0),
      attempt: state.attempt === undefined ? undefined : Number(state.attempt),
      enqueuedAt: date('enqueuedAt'),
      dueAt: date('dueAt'),
      startedAt: date('startedAt'),
      finishedAt: date('finishedAt'),
      error: state.error,
    };
  }

  /**
   * A handle on a task enqueued elsewhere (another process, an earlier request), by id. Pass the
   * original handle's `toJSON()` as `options` (its queue, key and stream entry id): without the
   * entry id, a task without a key whose handler returned nothing (no result is stored) cannot
   * be told settled, and result() waits for its timeout.
   */
  handle<R = unknown>(id: string, options: { queue?: string; key?: string; entryId?: string } = {}): TaskHandle<R> {
    if (typeof id !== 'string' || id.length === 0) throw new InvalidOptionError('id', 'a task id string', id);
    const queue = this.queueOption(options);
    if (options.key !== undefined) checkKey(options.key);
    const { entryId } = options;
    if (entryId !== undefined && (typeof entryId !== 'string' || !/^\d{1,20}-\d{1,20}$/.test(entryId)))
      throw new InvalidOptionError('entryId', 'a stream entry id such as "1700000000000-0"', entryId);
    return new TaskHandle<R>(
      id,
      undefined,
      queue,
      options.key,
      0,
      false,
      this.keysOf(queue),
      this.waiter,
      this,
      entryId,
    );
  }

  /**
   * @internal Status of an unkeyed task, inferred (see readSettled): its stored result; else,
   * with its entry id, pending while the entry waits or runs, completed once it is gone.
   */
  async settledStatus(keys: QueueKeys, id: string, entryId?: string): Promise<TaskStatus> {
    const settled = await readSettled(this.connections.commands, keys, { id, entryId: entryId || undefined });
    const state: TaskState = settled.state === 'completed' || settled.state === 'failed' ? settled.state : 'pending';
    return {
      state,
      id,
      key: undefined,
      generation: 0,
      attempt: undefined,
      error: settled.state === 'failed' ? settled.error?.message : undefined,
    };
  }

  private send<R>(call: EnqueueCall): Promise<TaskHandle<R>> {
    const wrap = this.instrumentation.enqueue;
    if (!wrap) return this.sendOne<R>(call);
    return wrap(
      [call],
      ([traced]) => this.sendOne<R>(traced),
      (handle) => [handle.id],
    );
  }

  private async sendOne<R>(call: EnqueueCall): Promise<TaskHandle<R>> {
    // A task without a key, due now, needs no dedupe, supersession or timing: it goes by group
    // commit, as a plain XADD or with others in one enqueue-many call (see PlainEnqueueBatcher).
    if (call.key === undefined && call.delayMs === 0 && call.runAt === 0) {
      const id = randomUUID();
      const entryId = await this.plainEnqueues.add(this.keysOf(call.queue), call, id);
      return this.toHandle<R>(call, [id, 0, 1, entryId ?? '', call.name]);
    }
    if (call.periodic && call.mode === 'replace') return this.replacePeriodic<R>(call);
    const reply = await runScript<EnqueueReply>(
      this.connections.commands,
      'enqueue',
      ...enqueueScriptArgs(this.keysOf(call.queue), call),
    );
    return this.toHandle<R>(call, reply);
  }

  /** A periodic key's replace keeps the stored schedule unless `every` re-times it. */
  private async replacePeriodic<R>(call: EnqueueCall): Promise<TaskHandle<R>> {
    const { name, queue, payload, runAt, delayMs, everyMs } = call; // a periodic chain carries no trace
    const schedule = everyMs > 0 ? { every: everyMs } : undefined;
    const [id, generation] = await runScript<PeriodicReply>(
      this.connections.commands,
      'schedule-periodic',
      ...periodicScriptArgs(this.keysOf(queue), { mode: 'replace', name, queue, payload, schedule, runAt, delayMs }),
    );
    return this.toHandle<R>(call, [id, generation, 1, '', name]);
  }

  private call(
    name: string,
    payload: unknown,
    options: EnqueueOptions & { every?: number | string },
    mode: 'add' | 'replace',
  ): EnqueueCall {
    checkName('name', name);
    const definition = this.registry.get(name);
    if (!definition && this.registry.size > 0) throw new UnknownTaskError(name, this.registry.names());
    if (options == null || typeof options !== 'object') throw new InvalidOptionError('options', 'an object', options);
    const { key, delayMs = 0, runAt } = options;
    if (key !== undefined) checkKey(key);
    if (!Number.isSafeInteger(delayMs) || delayMs < 0)
      throw new InvalidOptionError('delayMs', 'an integer >= 0', delayMs);
    const at = runAt instanceof Date ? runAt.getTime() : runAt;
    if (at !== undefined && (!Number.isSafeInteger(at) || at <= 0))
      throw new InvalidOptionError('runAt', 'a valid Date or epoch milliseconds', runAt);
    if (at !== undefined && delayMs > 0)
      throw new InvalidOptionError('runAt', 'either `runAt` or `delayMs`, not both', runAt);
    const schedule = definition?.options.schedule;
    // Without a local handler the key alone says it: a producer may re-time a chain it does not run.
    const periodic = key !== undefined && key === periodicKey(name) && (schedule !== undefined || !definition);
    let everyMs = 0;
    if (options.every !== undefined) {
      if (!periodic || (schedule !== undefined && !('every' in schedule))) {
        throw new InvalidOptionError(
          'every',
          `only on the periodic key "periodic:${name}" of an \`every\` task`,
          options.every,
        );
      }
      everyMs = parseEvery('every', options.every);
    } else if (periodic && mode === 'add' && schedule !== undefined && 'every' in schedule) {
      everyMs = schedule.every; // a replace without `every` keeps the stored period
    }
    return {
      name,
      queue:
        options.queue !== undefined ? checkName('queue', options.queue) : (definition?.options.queue ?? DEFAULT_QUEUE),
      key,
      payload: encodePayload(name, payload, this.config.maxPayloadBytes),
      delayMs,
      runAt: at ?? 0,
      mode,
      everyMs,
      periodic,
    };
  }

  private toHandle<R>(call: EnqueueCall, [id, generation, created, entryId, holder]: EnqueueReply): TaskHandle<R> {
    if (created === -1) throw new KeyConflictError(call.key!, call.name, holder, id);
    return new TaskHandle<R>(
      id,
      call.name,
      call.queue,
      call.key,
      Number(generation),
      created === 1,
      this.keysOf(call.queue),
      this.waiter,
      this,
      entryId || undefined,
    );
  }

  private queueOption(options: { queue?: string }): string {
    if (options === null || typeof options !== 'object') throw new InvalidOptionError('options', 'an object', options);
    return options.queue === undefined ? DEFAULT_QUEUE : checkName('queue', options.queue);
  }

  private keysOf(queue: string): QueueKeys {
    let keys = this.queueKeys.get(queue);
    if (!keys) this.queueKeys.set(queue, (keys = new QueueKeys(this.config.prefix, queue)));
    return keys;
  }
}

function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw new InvalidOptionError('key', `a string of 1 to ${MAX_KEY_LENGTH} characters`, key);
  }
}
