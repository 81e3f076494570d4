import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { InvalidOptionError, UnknownTaskError } from './errors';
import type { EnqueueItem, EnqueueOptions } from './interfaces';
import { QueueKeys } from './redis/keys';
import { RedisConnections } from './redis/redis-connections';
import { runScript } from './redis/scripts';
import { ResultWaiter } from './result-waiter';
import type { StreamQueueConfig } from './stream-queue.config';
import { DEFAULT_QUEUE, STREAM_QUEUE_CONFIG } from './stream-queue.constants';
import { TaskHandle } from './task-handle';
import { checkName } from './task-options';
import { encodePayload } from './task/payload-codec';
import { TaskRegistry } from './task.registry';

type Mode = 'add' | 'replace';
interface Request {
  readonly name: string;
  readonly queue: string;
  readonly key: string | undefined;
  readonly keys: string[];
  readonly args: (string | number)[];
}

const MAX_KEY_LENGTH = 1024;

/**
 * Enqueues tasks. Every call validates its arguments before anything is written: a bad call
 * throws a typed error (`UnknownTaskError`, `PayloadError`, `InvalidOptionError`) and writes
 * nothing.
 * @publicApi
 */
@Injectable()
export class QueueClient {
  private readonly queueKeys = new Map<string, QueueKeys>();

  constructor(
    @Inject(STREAM_QUEUE_CONFIG) private readonly config: StreamQueueConfig,
    private readonly connections: RedisConnections,
    private readonly registry: TaskRegistry,
    private readonly waiter: ResultWaiter,
  ) {}

  /** Adds a task; with `options.key`, returns the live run of that key instead of adding another. */
  async enqueue<P = unknown, R = unknown>(name: string, payload: P, options: EnqueueOptions = {}): Promise<TaskHandle<R>> {
    const request = this.request(name, payload, options, 'add');
    const reply = await runScript<[string, number, number]>(this.connections.commands, 'enqueue', request.keys, request.args);
    return this.handle<R>(request, reply);
  }

  /** Adds many tasks in one round trip (a pipeline); all are validated before any is sent. */
  async enqueueMany<R = unknown>(items: readonly EnqueueItem[]): Promise<TaskHandle<R>[]> {
    if (!Array.isArray(items)) throw new InvalidOptionError('items', 'an array of { name, payload, options? }', items);
    const requests = items.map((item, i) => {
      if (item == null || typeof item !== 'object') throw new InvalidOptionError(`items[${i}]`, 'an object { name, payload, options? }', item);
      return this.request(item.name, item.payload, item.options ?? {}, 'add');
    });
    if (requests.length === 0) return [];
    const pipeline = this.connections.commands.pipeline();
    for (const r of requests) runScript(pipeline, 'enqueue', r.keys, r.args);
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([error, reply], i) => {
      if (error) throw error;
      return this.handle<R>(requests[i], reply as [string, number, number]);
    });
  }

  /**
   * Supersedes every older run of `options.key`: what is queued or delayed never starts, and a
   * running one has its `ctx.signal` aborted and, when it finishes, writes nothing.
   */
  async replace<P = unknown, R = unknown>(name: string, payload: P, options: EnqueueOptions & { key: string }): Promise<TaskHandle<R>> {
    if (options == null || typeof options.key !== 'string') {
      throw new InvalidOptionError('key', 'a non-empty string (replace() acts on a task key)', options?.key);
    }
    const request = this.request(name, payload, options, 'replace');
    const reply = await runScript<[string, number, number]>(this.connections.commands, 'enqueue', request.keys, request.args);
    return this.handle<R>(request, reply);
  }

  /** Cancels the live run of `key`; resolves true when something was cancelled. */
  async cancel(key: string, options: { queue?: string } = {}): Promise<boolean> {
    checkKey(key);
    const keys = this.keysOf(options.queue === undefined ? DEFAULT_QUEUE : checkName('queue', options.queue));
    const done = await runScript<number>(this.connections.commands, 'cancel', [keys.stream, keys.delayed, keys.keyState(key)], [
      this.config.resultTtlMs,
      keys.controlChannel,
      key,
    ]);
    return done === 1;
  }

  private request(name: string, payload: unknown, options: EnqueueOptions, mode: Mode): Request {
    checkName('name', name);
    const definition = this.registry.get(name);
    if (!definition && this.registry.size > 0) throw new UnknownTaskError(name, this.registry.names());
    if (options == null || typeof options !== 'object') throw new InvalidOptionError('options', 'an object', options);
    const { key, delayMs = 0 } = options;
    if (key !== undefined) checkKey(key);
    if (!Number.isSafeInteger(delayMs) || delayMs < 0) throw new InvalidOptionError('delayMs', 'an integer >= 0', delayMs);
    const queue = options.queue !== undefined ? checkName('queue', options.queue) : (definition?.options.queue ?? DEFAULT_QUEUE);
    const encoded = encodePayload(name, payload, this.config.maxPayloadBytes);
    const keys = this.keysOf(queue);
    const id = randomUUID();
    return key === undefined
      ? { name, queue, key, keys: [keys.stream, keys.delayed], args: [id, name, encoded, delayMs, mode] }
      : {
          name,
          queue,
          key,
          keys: [keys.stream, keys.delayed, keys.keyState(key)],
          args: [id, name, encoded, delayMs, mode, key, keys.controlChannel],
        };
  }

  private handle<R>(request: Request, [id, generation, created]: [string, number, number]): TaskHandle<R> {
    return new TaskHandle<R>(id, request.name, request.queue, request.key, Number(generation), created === 1, this.keysOf(request.queue), this.waiter);
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
