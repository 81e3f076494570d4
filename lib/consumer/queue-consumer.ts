import { Subject, type Subscription } from 'rxjs';
import { StreamQueueError } from '../errors';
import type { TaskRegistry } from '../task.registry';
import type { Delivery } from './in-flight';
import { Intake } from './intake';
import type { Outcome } from './outcome';
import type { QueueContext } from './queue-context';
import { createQueuePipeline } from './queue-pipeline';
import type { QueueReads } from './queue-reads';
import { Settler } from './settler';
import { ShutdownAbortError } from './shutdown-abort.error';
import { Sweeper } from './sweeper';
import { TaskRunner } from './task-runner';

/**
 * @internal Consumes one queue: builds its pipeline, subscribes it, and stops it by closing the
 * sources first, so in-flight runs finish and settle before the connections go.
 */
export class QueueConsumer {
  private readonly stop$ = new Subject<void>();
  private readonly promoteSoon$ = new Subject<void>();
  private stopping = false;
  private subscription?: Subscription;
  private drained!: Promise<void>;

  constructor(
    private readonly ctx: QueueContext,
    private readonly reader: QueueReads,
    private readonly registry: TaskRegistry,
  ) {}

  async start(): Promise<void> {
    await this.reader.ensureGroup();
    const intake = new Intake(this.ctx);
    const sweeper = new Sweeper(this.ctx);
    const runner = new TaskRunner(
      this.registry,
      this.ctx.queue,
      this.ctx.consumer,
      this.ctx.lease,
      this.ctx.runWrapper,
    );
    const settler = new Settler(this.ctx);
    const pipeline = createQueuePipeline({
      read: async () => (this.stopping ? [] : intake.admit(await this.reader.read())),
      sweep: async () => intake.admit(await sweeper.sweep()),
      promote: () => sweeper.promote(),
      run: (delivery) => runner.run(delivery),
      onRunEnd: () => this.ctx.slots.finish(),
      settle: (outcomes) => settler.settle(outcomes),
      onError: (source, error, attempt) => {
        if (attempt <= 1 || attempt % 10 === 0) {
          this.ctx.logger.warn(`Queue "${this.ctx.queue}" ${source} failed (${(error as Error).message}); retrying.`);
        }
      },
      stop$: this.stop$,
      promoteSoon$: this.promoteSoon$,
      isStopping: () => this.stopping,
      concurrency: this.ctx.config.concurrency,
      sweepIntervalMs: this.ctx.config.sweepIntervalMs,
      ackBatchMs: this.ctx.config.ackBatchMs,
    });
    this.drained = new Promise<void>((resolve) => {
      this.subscription = pipeline.subscribe({
        next: (outcome: Outcome) => this.release(outcome.delivery),
        error: (error: Error) => {
          this.ctx.logger.error(`Queue "${this.ctx.queue}" stopped on an unexpected error: ${error.message}`);
          resolve();
        },
        complete: () => resolve(),
      });
    });
  }

  /** Its pipeline is subscribed and not stopping (or stopped on an unexpected error). */
  get running(): boolean {
    return this.subscription !== undefined && !this.subscription.closed && !this.stopping;
  }

  /** A delayed task became due sooner than planned (a producer said so, or this worker added one). */
  promoteSoon(): void {
    this.promoteSoon$.next();
  }

  /**
   * Aborts the runs of `key` older than `generation` (superseded or cancelled elsewhere); their
   * settle writes nothing. The message can arrive after the new generation started here: it
   * must not stop that one.
   */
  abortKey(key: string, why: 'superseded' | 'cancelled', generation: number): void {
    const reason = new StreamQueueError(why.toUpperCase(), `The run of key "${key}" was ${why}.`);
    this.ctx.inFlight.abort(reason, (d) => d.message.key === key && d.message.generation < generation);
  }

  /** Aborts every run: this worker's liveness lapsed, so another may have taken them over. */
  abortAll(reason: Error): Delivery[] {
    return this.ctx.inFlight.abort(reason);
  }

  /** Stops reading, waits for in-flight runs up to the deadline, then abandons the rest. */
  async stop(): Promise<{ drained: boolean }> {
    if (!this.subscription) return { drained: true };
    this.stopping = true;
    this.stop$.next();
    this.ctx.slots.close();
    this.reader.close();
    const { shutdownTimeoutMs } = this.ctx.config;
    const drainedInTime = await within(this.drained, shutdownTimeoutMs);
    if (!drainedInTime) {
      const abandoned = this.abortAll(new ShutdownAbortError(shutdownTimeoutMs));
      this.ctx.logger.warn(
        `Queue "${this.ctx.queue}": ${abandoned.length} run(s) outlived the shutdown deadline; their signals were aborted and they are left to be reclaimed.`,
      );
      await within(this.drained, 1_000);
    }
    this.subscription.unsubscribe();
    return { drained: drainedInTime && this.ctx.inFlight.size === 0 };
  }

  private release(delivery: Delivery): void {
    this.ctx.inFlight.delete(delivery.message.entryId);
    this.ctx.slots.settled();
  }
}

function within(promise: Promise<void>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    promise.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}
