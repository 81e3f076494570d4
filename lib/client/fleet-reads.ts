import type { Redis } from 'ioredis';
import type { Observable } from 'rxjs';
import { InvalidOptionError } from '../errors';
import type {
  ListedState,
  ListedTask,
  PageOptions,
  QueueCounts,
  QueueState,
  RedriveAllResult,
  TaskPage,
} from '../interfaces';
import type { QueueKeys } from '../redis/keys';
import { DEFAULT_QUEUE } from '../stream-queue.constants';
import { checkName } from '../task-options';
import { checkDeadLetterId, DeadLetters } from './dead-letters';
import { fleetEvents, type FleetEvent } from './fleet-events';
import { checkPage, checkState } from './page-options';
import { QueueInspector } from './queue-inspector';
import { locate, removeTask } from './task-removal';

/**
 * @internal The fleet-wide reads and repairs behind QueueClient (and the CLI, which has no Nest
 * app): every argument is validated before Redis is touched, so a bad call writes nothing.
 */
export class FleetReads {
  private readonly inspector: QueueInspector;
  private readonly deadLetters: DeadLetters;

  constructor(
    private readonly redis: Redis,
    private readonly keysOf: (queue: string) => QueueKeys,
    private readonly stateTtlMs: number,
  ) {
    this.inspector = new QueueInspector(redis);
    this.deadLetters = new DeadLetters(redis, this.inspector);
  }

  counts(queue?: string): Promise<QueueCounts> {
    return this.inspector.counts(this.keys(queue));
  }

  state(queue?: string): Promise<QueueState> {
    return this.inspector.state(this.keys(queue));
  }

  list(state: ListedState, options: PageOptions = {}): Promise<TaskPage> {
    checkState(state);
    const keys = this.keys(objectOf(options).queue);
    return this.inspector[state](keys, checkPage(state, options));
  }

  remove(id: string, options: { queue?: string } = {}): Promise<void> {
    if (typeof id !== 'string' || id.length === 0 || id.length > 256)
      throw new InvalidOptionError('id', 'a task id (1 to 256 characters)', id);
    return removeTask(this.redis, this.inspector, this.keys(objectOf(options).queue), id, this.stateTtlMs);
  }

  /**
   * A task by id wherever it is (queued, delayed, running, dead-lettered), with its stored
   * result (JSON text) when one is kept. Reads the listings page by page: an operator's lookup.
   */
  async findTask(id: string, options: { queue?: string } = {}): Promise<{ task?: ListedTask; result: string | null }> {
    if (typeof id !== 'string' || id.length === 0 || id.length > 256)
      throw new InvalidOptionError('id', 'a task id (1 to 256 characters)', id);
    const keys = this.keys(objectOf(options).queue);
    const [task, result] = await Promise.all([
      locate(this.inspector, keys, id, ['running', 'queued', 'delayed', 'dead']),
      this.redis.get(keys.result(id)),
    ]);
    return { task, result };
  }

  redrive(deadLetterId: string, options: { queue?: string } = {}): Promise<string> {
    checkDeadLetterId(deadLetterId);
    return this.deadLetters.redrive(this.keys(objectOf(options).queue), deadLetterId);
  }

  redriveAll(options: { queue?: string } = {}): Promise<RedriveAllResult> {
    return this.deadLetters.redriveAll(this.keys(objectOf(options).queue));
  }

  purge(options: { queue?: string; ids?: readonly string[] } = {}): Promise<number> {
    const { queue, ids } = objectOf(options);
    return this.deadLetters.purge(this.keys(queue), ids);
  }

  events(queue?: string): Observable<FleetEvent> {
    return fleetEvents(this.redis, this.keys(queue));
  }

  private keys(queue: string | undefined): QueueKeys {
    return this.keysOf(queue === undefined ? DEFAULT_QUEUE : checkName('queue', queue));
  }
}

function objectOf<T extends object>(options: T): T {
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('options', 'an object', options);
  return options;
}
