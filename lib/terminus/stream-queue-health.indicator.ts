import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import type { Redis } from 'ioredis';
import { QueueClient } from '../client/queue-client';
import { ConsumerHost } from '../consumer/consumer.host';
import { InvalidOptionError } from '../errors';
import { timeoutAfterPendingIo } from '../race-timeout';
import { PartitionLayouts } from '../partitions/partition-layout';
import { redisAddress } from '../redis/connection-check';
import { RedisConnections } from '../redis/redis-connections';
import { sendNow } from '../redis/send-now';
import { readRefusedAdmissions } from './refused-admissions';
import { MAX_TIMER_MS } from '../stream-queue.constants';
import { checkName } from '../task/resolved-task-options';

/**
 * How long a queue's reads, admissions, settles or promotions fail on end before the check says
 * down (the read retry's longest backoff).
 */
const FAILING_DOWN_MS = 5_000;

/** What `isHealthy()` checks beyond Redis, this worker's lease and its consumers. @publicApi */
export interface StreamQueueHealthOptions {
  /** Down when this queue's oldest waiting task is older than `maxWaitingMs`. */
  queue?: string;
  /** The age limit for `queue`'s oldest waiting task, in ms (not applied while `queue` is paused). */
  maxWaitingMs?: number;
  /**
   * Redis must answer within this many ms: the PING and the `queue` reads together. Default 1 000.
   * Counted on this process's timers: an event loop blocked meanwhile costs at most a tenth of it.
   * A PING is also timed by the clock: unanswered this long after it was sent, it is late.
   */
  timeoutMs?: number;
}

/**
 * A Terminus health indicator: up when Redis answers (and a worker's own connections, its blocking
 * reads', are connected), this worker's lease is held, every queue it handles has a running
 * consumer whose reads, admissions, settles and promotions have not failed on end for 5 s, and
 * (optionally) a queue's oldest waiting
 * task is young enough, unless that queue is paused.
 * A producer-only process (`worker: false`) checks Redis alone.
 * @publicApi
 */
@Injectable()
export class StreamQueueHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly connections: RedisConnections,
    private readonly host: ConsumerHost,
    private readonly client: QueueClient,
    private readonly layouts: PartitionLayouts,
  ) {}

  async isHealthy<const Key extends string = 'stream-queue'>(
    key: Key = 'stream-queue' as Key,
    options: StreamQueueHealthOptions = {},
  ): Promise<HealthIndicatorResult<Key>> {
    const { queue, maxWaitingMs, timeoutMs = 1_000 } = checkOptions(options);
    const indicator = this.health.check(key);
    // One deadline for every Redis read of the check: a health endpoint must not hang on one.
    const late = new Deadline(timeoutMs);
    const { redis, data, problems } = await this.examine(late, queue, maxWaitingMs).finally(() => late.end());
    if (redis) problems.unshift(`Redis: ${redis}`);
    const result = { redis: redis ?? 'up', ...data };
    return problems.length === 0 ? indicator.up(result) : indicator.down({ ...result, message: problems.join('; ') });
  }

  /** What the check found: why Redis is down (if it is), the result's details, the other problems. */
  private async examine(
    late: Deadline,
    queue: string | undefined,
    maxWaitingMs: number | undefined,
  ): Promise<{ redis: string | undefined; data: Record<string, unknown>; problems: string[] }> {
    const { worker, leaseHeld, queues, failingReads, failingAdmissions, failingSettles, failingPromotions } =
      this.host.status();
    const running = Object.keys(queues).filter((q) => queues[q]);
    const [pinged, refusals] = await Promise.all([
      this.ping(late, queue === undefined ? Object.keys(queues) : [...Object.keys(queues), queue]),
      Promise.all(
        running.map((q) =>
          readRefusedAdmissions(
            this.layouts.partitionsOf(q).all,
            (key) => this.connections.topology.masterServing(key),
            (reply) => late.race(reply),
          ),
        ),
      ),
    ]);
    let redis = pinged;
    // Refused admissions of waiting flow tasks are caught inside settles and promotions that
    // succeed, so no worker's own streak shows them: the partition's record in Redis does, the
    // same for every worker of the queue, and it lapses a few tries after the last refusal.
    const promotions = { ...failingPromotions };
    running.forEach((q, i) => {
      const { streak, problem } = refusals[i];
      if (problem) redis ??= `${problem} (reading queue "${q}"'s refused admissions)`;
      if (streak && streak.forMs > (promotions[q]?.forMs ?? -1)) promotions[q] = streak;
    });
    const data: Record<string, unknown> = {};
    if (worker) Object.assign(data, { lease: leaseHeld ? 'held' : 'lost', consumers: queues });
    const problems: string[] = [];
    if (worker && !leaseHeld) problems.push("this worker's lease is not held");
    const stopped = Object.keys(queues).filter((q) => !queues[q]);
    if (stopped.length > 0) problems.push(`consumers not running: ${stopped.join(', ')}`);
    // The PING goes on the command connection: a worker reads on connections of its own.
    if (worker) {
      // A first connect (at boot) gets the same grace as failing reads.
      for (const { purpose, status } of this.connections.unready(FAILING_DOWN_MS)) {
        problems.push(`Redis connection (${purpose}) is ${status}`);
      }
    }
    for (const [failingQueue, { forMs, message }] of Object.entries(failingReads)) {
      // A read retried through a blip (a failover, a reconnect) is not down; one failing this long is.
      if (forMs >= FAILING_DOWN_MS && queues[failingQueue]) {
        problems.push(`reads of queue "${failingQueue}" failing for ${forMs} ms: ${message}`);
      }
    }
    // Runs read but never started go back to be recovered and fail again: nothing runs, while
    // reads and settles succeed.
    for (const [failingQueue, { forMs, message }] of Object.entries(failingAdmissions)) {
      if (forMs >= FAILING_DOWN_MS && queues[failingQueue]) {
        problems.push(`admissions of queue "${failingQueue}" failing for ${forMs} ms: ${message}`);
      }
    }
    // Runs that never settle hold their slots (and, by this worker's lease, their entries) for
    // good: once they fill the slots, nothing is read, so no read fails.
    for (const [failingQueue, { forMs, message }] of Object.entries(failingSettles)) {
      if (forMs >= FAILING_DOWN_MS && queues[failingQueue]) {
        problems.push(`settles of queue "${failingQueue}" failing for ${forMs} ms: ${message}`);
      }
    }
    // Due tasks that never move into the stream (delayed ones, retries, periodic successors, flow
    // wakes, waiting flow tasks refused their admission) never run, while reads, runs and settles
    // succeed.
    for (const [failingQueue, { forMs, message }] of Object.entries(promotions)) {
      if (forMs >= FAILING_DOWN_MS && queues[failingQueue]) {
        problems.push(`promotions of queue "${failingQueue}" failing for ${forMs} ms: ${message}`);
      }
    }
    if (queue !== undefined && !redis) {
      const counts = await late.race(this.client.counts(queue));
      if ('problem' in counts) redis = `${counts.problem} (reading queue "${queue}")`;
      else {
        const { oldestWaitingMs } = counts.value;
        data.oldestWaitingMs = oldestWaitingMs;
        if (oldestWaitingMs !== null && oldestWaitingMs > maxWaitingMs!) {
          // A pause holds tasks waiting on purpose: an age limit then would fail a healthy fleet.
          // Read only past the limit, so a check in the limit costs no more.
          const paused = await late.race(this.client.isPaused(queue));
          if ('problem' in paused) redis = `${paused.problem} (reading queue "${queue}")`;
          else if (paused.value) data.paused = true;
          else {
            problems.push(
              `queue "${queue}"'s oldest waiting task is ${oldestWaitingMs} ms old (limit ${maxWaitingMs} ms)`,
            );
          }
        }
      }
    }
    return { redis, data, problems };
  }

  /**
   * Undefined when Redis answered PING in time, else why not. The PING goes to the master of
   * every partition of `queues` (on one node: the one PING of the commands connection). On a
   * cluster a PING without a key goes to a node ioredis picks at random, which answers while the
   * master holding a queue's slot is down or frozen; a process without queues to check sends that.
   */
  private async ping(late: Deadline, queues: string[]): Promise<string | undefined> {
    const { commands, topology } = this.connections;
    // A connection that is not ready would queue the PING until it reconnects: that is down.
    if (commands.status !== 'ready') return `connection ${commands.status}`;
    // Each PING is written at once (sendNow), not a turn later by auto-pipelining: a check whose
    // caller then blocks the event loop (its next task) finds the reply waiting when it frees,
    // where a PING sent only after the block had to come back within what is left of the deadline.
    if (queues.length === 0) {
      const answer = await late.race(sendNow(commands, 'ping', []), { ping: true });
      return 'problem' in answer ? answer.problem : undefined;
    }
    // The queues each node serves, for the message; one PING per node.
    const served = new Map<Redis, Set<string>>();
    const problems: string[] = [];
    const located = queues.flatMap((queue) =>
      this.layouts.partitionsOf(queue).all.map(async (keys) => {
        const node = await late.race(topology.masterServing(keys.stream));
        if ('problem' in node) return void problems.push(`${node.problem} (finding the master of queue "${queue}")`);
        let of = served.get(node.value);
        if (!of) served.set(node.value, (of = new Set()));
        of.add(queue);
      }),
    );
    await Promise.all(located);
    await Promise.all(
      [...served].map(async ([node, of]) => {
        // A node connection ioredis has not used yet is lazy ('wait'): the PING connects it, so it
        // waits on the connect's round trips too and is not timed by the clock (see Deadline).
        const lost = node.status === 'end' || node.status === 'close' || node.status === 'reconnecting';
        const ping = node.status === 'ready';
        const answer = lost
          ? { problem: `connection ${node.status}` }
          : await late.race(sendNow(node, 'ping', []), { ping });
        if ('problem' in answer) {
          const names = [...of].map((q) => `"${q}"`).join(', ');
          problems.push(`${answer.problem} (PING of ${redisAddress(node.options)}, master of queue ${names})`);
        }
      }),
    );
    return problems.length > 0 ? [...new Set(problems)].join('; ') : undefined;
  }
}

type Answer<T> = { value: T } | { problem: string };

/** The steps a deadline's time is counted in (see Deadline). */
const DEADLINE_STEPS = 10;

/**
 * The end of a check's time: a reply after it, or a failed one, is a problem said in words. It
 * measures Redis, not this process: its time is counted in tenths, each once its timer fires,
 * however late. A timer fires late when the event loop was blocked (a CPU-bound moment, a GC
 * pause), time in which Redis's replies waited unread: a block costs the check at most a tenth
 * of its time, where one timer for all of it lost it all, and with it the reads sent after the
 * block (a worker's PING, sent once its master is found; counts(), which reads the partition
 * count first). Each tenth ends one turn of I/O after its timer (timeoutAfterPendingIo), so a
 * reply that arrived while the loop was blocked past it wins.
 *
 * Tenths alone are stretched by a loop blocked on every turn (each then lasts a block), so a PING
 * is also timed by the clock: one still unanswered when a tenth's timer fired, timeoutMs or more
 * after it was sent, is late, however few tenths were counted. Had its reply come by then, it
 * would have been read before the tenth ended; a PING is one command written at once on a ready
 * connection, so all that time it waited on Redis. (A read of several commands in turn is not timed so: one of its
 * replies may have waited unread while the loop was blocked, the next command not yet sent.)
 */
class Deadline {
  private readonly expired: Promise<boolean>;
  private ended!: () => void;
  /** When each PING still unanswered was sent (performance.now()). */
  private readonly pings = new Set<{ sentAt: number }>();

  constructor(private readonly timeoutMs: number) {
    this.expired = new Promise<boolean>((resolve) => {
      let cancel = () => undefined as void;
      this.ended = () => {
        cancel();
        resolve(false);
      };
      const steps = Math.min(DEADLINE_STEPS, timeoutMs);
      const step = (n: number) => {
        const stepMs = Math.round((timeoutMs * n) / steps) - Math.round((timeoutMs * (n - 1)) / steps);
        cancel = timeoutAfterPendingIo(stepMs, (firedAt) => {
          if (n === steps || this.pingLate(firedAt)) resolve(true);
          else step(n + 1);
        });
      };
      step(1);
    });
  }

  /** `ping`: `reply` is a PING written now on a ready connection (see Deadline). */
  race<T>(reply: Promise<T>, { ping = false }: { ping?: boolean } = {}): Promise<Answer<T>> {
    const sent = { sentAt: performance.now() };
    if (ping) this.pings.add(sent);
    const answered = reply.then(
      (value) => ({ value }),
      (error: Error) => ({ problem: error.message }),
    );
    void answered.then(() => this.pings.delete(sent));
    const late = this.expired.then((expired) =>
      // A check that ended leaves its reads unanswered, and nobody waits for them.
      expired ? { problem: `no answer within ${this.timeoutMs} ms` } : new Promise<never>(() => undefined),
    );
    return Promise.race([answered, late]);
  }

  /** The check is over: its timer is cleared. */
  end(): void {
    this.ended();
  }

  /** Whether a PING unanswered when a timer fired at `firedAt` had waited timeoutMs by then. */
  private pingLate(firedAt: number): boolean {
    for (const { sentAt } of this.pings) if (firedAt - sentAt >= this.timeoutMs) return true;
    return false;
  }
}

function checkOptions(options: StreamQueueHealthOptions): StreamQueueHealthOptions {
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('options', 'an object', options);
  const { queue, maxWaitingMs, timeoutMs } = options;
  if (queue !== undefined) checkName('queue', queue);
  if ((queue === undefined) !== (maxWaitingMs === undefined)) {
    throw new InvalidOptionError('maxWaitingMs', 'given together with `queue`', maxWaitingMs);
  }
  if (maxWaitingMs !== undefined && !(Number.isSafeInteger(maxWaitingMs) && maxWaitingMs >= 0)) {
    throw new InvalidOptionError('maxWaitingMs', 'an integer >= 0', maxWaitingMs);
  }
  // A Node timer: past MAX_TIMER_MS it would fire after 1 ms.
  if (timeoutMs !== undefined && !(Number.isInteger(timeoutMs) && timeoutMs > 0 && timeoutMs <= MAX_TIMER_MS)) {
    throw new InvalidOptionError('timeoutMs', `an integer from 1 to ${MAX_TIMER_MS}`, timeoutMs);
  }
  return options;
}
