/**
 * The producer: a producer-only Nest application (worker: false) in the controller process. It
 * keeps the ids whose enqueue promise resolved, the only tasks the system has promised to run:
 * "lost" is computed over them alone. An enqueue that rejected (Redis down, connection cut) was
 * never acknowledged; those are counted, not tracked.
 */
import { Injectable, Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  QueueClient,
  StreamQueueModule,
  Task,
  type ConnectionOptions,
  type DurabilityOptions,
  type EnqueueItem,
} from '../lib';
import { FLOW_LIMITS, FLOW_TASK } from './flow-task';
import type { FlowLimits } from './flow-analysis';
import type { ChaosWork } from './ledger';
import type { Rng } from './config';
import { sleep } from './config';

export const TASK = 'chaos.work';

/**
 * The tasks' definitions, so this producer's enqueues carry the flow task's limits (a producer with
 * definitions accepts only the tasks it defines). They never run here: worker: false. A class per
 * producer: the flow task's limits are the scenario's.
 */
function taskDefinitions(flowLimits: FlowLimits) {
  @Injectable()
  class TaskDefinitions {
    @Task(TASK)
    work(): void {
      throw new Error('the producer runs no task');
    }

    @Task(FLOW_TASK, flowLimits)
    flow(): void {
      throw new Error('the producer runs no task');
    }
  }
  return TaskDefinitions;
}

/** How a scenario's producer reaches its queue, besides the connection and prefix. */
export interface ProducerOptions {
  /** Every enqueue waits for replicas and goes alone (enqueueMany does not WAIT). */
  readonly durability?: DurabilityOptions;
  /** The queue's partition count, as its workers have it (default 1). */
  readonly partitions?: number;
  /** The flow task's limits, as its workers have them (default FLOW_LIMITS). */
  readonly flowLimits?: FlowLimits;
}

/** The latest acknowledged run of a key: it must complete. */
export interface KeyHead {
  id: string;
  generation: number;
  op: 'enqueue' | 'replace';
}

export class Producer {
  /** Ids of acknowledged enqueues (unkeyed and keyed, every generation). */
  readonly acked = new Set<string>();
  /** Acknowledged flow tasks: id -> group, and when the acknowledgement came (epoch ms). */
  readonly flowAcked = new Map<string, { group: string; ackedAt: number }>();
  /** Per key, the run the last acknowledged enqueue/replace returned. */
  readonly heads = new Map<string, KeyHead>();
  /** Enqueue calls that rejected, and the tasks they carried. */
  rejectedCalls = 0;
  rejectedTasks = 0;
  /** Why they rejected: error message -> calls. */
  readonly rejections = new Map<string, number>();
  /** Keyed operations: replace() calls, and enqueues answered with the live run (deduplicated). */
  replaces = 0;
  deduplicated = 0;
  /** Every acknowledged keyed operation, in order of acknowledgement. */
  readonly keyLog: {
    ts: number;
    sentAt: number;
    key: string;
    op: 'enqueue' | 'replace';
    id: string;
    generation: number;
    created: boolean;
  }[] = [];
  private readonly inFlight = new Set<Promise<void>>();

  private constructor(
    private readonly app: INestApplicationContext,
    readonly client: QueueClient,
  ) {}

  /**
   * `connection` is a URL or any module connection. With `durability`, every enqueue waits for
   * replicas and goes alone (enqueueMany does not WAIT): only what a replica holds is acknowledged.
   */
  static async start(
    connection: string | ConnectionOptions,
    prefix: string,
    { durability, partitions = 1, flowLimits = FLOW_LIMITS }: ProducerOptions = {},
  ): Promise<Producer> {
    const options = {
      connection: typeof connection === 'string' ? { url: connection } : connection,
      prefix,
      worker: false,
      durability,
      ...(partitions > 1 ? { queues: { default: { partitions } } } : {}),
    };
    @Module({ imports: [StreamQueueModule.forRoot(options)], providers: [taskDefinitions(flowLimits)] })
    class ChaosProducerModule {}
    const app = await NestFactory.createApplicationContext(ChaosProducerModule, { logger: ['error'] });
    await app.init();
    const producer = new Producer(app, app.get(QueueClient));
    producer.alone = durability !== undefined;
    return producer;
  }

  /** Every task goes by its own enqueue() (see start). */
  private alone = false;

  /**
   * Enqueues `payloads`: most in enqueueMany batches, some one by one (both scripts get load). A
   * payload with a `group` goes to the flow task, under that group and priority.
   */
  enqueue(payloads: ChaosWork[], rng: Rng): void {
    const ack = (id: string, payload: ChaosWork) => {
      this.acked.add(id);
      if (payload.group !== undefined) this.flowAcked.set(id, { group: payload.group, ackedAt: Date.now() });
    };
    let i = 0;
    while (i < payloads.length) {
      if (this.alone || rng.chance(0.2)) {
        const { name, payload, options } = item(payloads[i]);
        this.track(
          this.client.enqueue(name, payload, options).then((h) => ack(h.id, payload)),
          1,
        );
        i += 1;
      } else {
        const batch = payloads.slice(i, i + 25);
        this.track(
          this.client.enqueueMany(batch.map(item)).then((hs) => hs.forEach((h, j) => ack(h.id, batch[j]))),
          batch.length,
        );
        i += batch.length;
      }
    }
  }

  /** enqueue() or replace() on `key`; resolves once acknowledged (or rejected). */
  keyed(key: string, payload: ChaosWork, op: 'enqueue' | 'replace'): Promise<void> {
    const sentAt = Date.now();
    const call =
      op === 'replace' ? this.client.replace(TASK, payload, { key }) : this.client.enqueue(TASK, payload, { key });
    return this.track(
      call.then((h) => {
        this.acked.add(h.id);
        this.keyLog.push({ ts: Date.now(), sentAt, key, op, id: h.id, generation: h.generation, created: h.created });
        this.heads.set(key, { id: h.id, generation: h.generation, op });
        if (op === 'replace') this.replaces++;
        else if (!h.created) this.deduplicated++;
      }),
      1,
    );
  }

  /**
   * Feeds `total` tasks over `windowMs`, a slice every `tickMs`, without waiting for replies (so
   * a Redis outage piles enqueues up in the client instead of pausing the feed), at most
   * `maxInFlight` calls outstanding.
   */
  async feed(total: number, windowMs: number, make: (i: number) => ChaosWork, rng: Rng, tickMs = 50): Promise<void> {
    const started = Date.now();
    let sent = 0;
    while (sent < total) {
      const due = Math.min(total, Math.ceil(((Date.now() - started + tickMs) / windowMs) * total));
      if (due > sent && this.inFlight.size < 200) {
        const payloads = Array.from({ length: due - sent }, (_, j) => make(sent + j));
        this.enqueue(payloads, rng);
        sent = due;
      }
      await sleep(tickMs);
    }
    await this.settled();
  }

  /** Waits for every enqueue call in flight to resolve or reject. */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  async close(): Promise<void> {
    await this.settled();
    await this.app.close();
  }

  private track(call: Promise<void>, tasks: number): Promise<void> {
    const tracked: Promise<void> = call
      .catch((error: Error) => {
        const why = String(error?.message).slice(0, 120);
        this.rejections.set(why, (this.rejections.get(why) ?? 0) + 1);
        this.rejectedCalls++;
        this.rejectedTasks += tasks;
      })
      .finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
    return tracked;
  }
}

/** The enqueue of one payload: the flow task's under its group and priority, else the plain task's. */
function item(payload: ChaosWork): EnqueueItem<ChaosWork> {
  if (payload.group === undefined) return { name: TASK, payload };
  return { name: FLOW_TASK, payload, options: { group: payload.group, priority: payload.priority } };
}
