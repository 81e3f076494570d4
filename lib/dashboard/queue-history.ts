import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import type { Subscription } from 'rxjs';
import { QueueClient } from '../client/queue-client';
import type { QueueCounts } from '../interfaces';
import { DASHBOARD_CONFIG, type DashboardConfig } from './dashboard-options';

/** One sample of a queue: its counts, and the runs that settled since the previous sample. */
export interface QueueSample {
  readonly t: number;
  readonly waiting: number;
  readonly delayed: number;
  readonly running: number;
  readonly deadLettered: number;
  readonly oldestWaitingMs: number | null;
  readonly added: number;
  readonly completed: number;
  readonly failed: number;
}

const KEEP = 180;
/** Sampling stops this long after the last page poll: an unwatched dashboard costs nothing. */
const IDLE_MS = 60_000;

/**
 * @internal The charts' data: while someone polls the page, every queue is sampled (one read
 * each) and the fleet's events are counted (see QueueClient.events(), which workers publish only
 * while watched). A ring of the last samples per queue.
 */
@Injectable()
export class QueueHistory implements OnModuleDestroy {
  private readonly samples = new Map<string, QueueSample[]>();
  private readonly settled = new Map<string, { completed: number; failed: number }>();
  private timer?: NodeJS.Timeout;
  private subscriptions: Subscription[] = [];
  private lastPoll = 0;
  private readonly logger = new Logger('StreamQueue');

  constructor(
    private readonly client: QueueClient,
    @Inject(DASHBOARD_CONFIG) private readonly config: DashboardConfig,
  ) {}

  /** The samples so far; starts sampling if it was idle. */
  history(): Record<string, QueueSample[]> {
    this.lastPoll = Date.now();
    if (!this.timer) this.start();
    return Object.fromEntries(this.config.queues.map((q) => [q, this.samples.get(q) ?? []]));
  }

  onModuleDestroy(): void {
    this.stop();
  }

  private start(): void {
    for (const queue of this.config.queues) {
      const counts = { completed: 0, failed: 0 };
      this.settled.set(queue, counts);
      this.subscriptions.push(
        this.client.events(queue).subscribe({
          next: (event) => {
            if (event.type === 'completed') counts.completed++;
            else if (event.type === 'dead-lettered' || event.type === 'retry-scheduled') counts.failed++;
          },
          // Redis refused the subscription (an ACL without the events channel): the charts go on
          // without the settled counts. Unhandled, RxJS would throw it as an uncaught exception.
          error: (error: Error) =>
            this.logger.warn(`Dashboard: the events of queue "${queue}" cannot be counted: ${error.message}`),
        }),
      );
    }
    this.timer = setInterval(() => void this.sample(), this.config.sampleIntervalMs);
    this.timer.unref();
    void this.sample();
  }

  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.subscriptions.forEach((s) => s.unsubscribe());
    this.subscriptions = [];
  }

  private async sample(): Promise<void> {
    if (Date.now() - this.lastPoll > IDLE_MS) return this.stop();
    await Promise.all(
      this.config.queues.map(async (queue) => {
        let counts: QueueCounts;
        try {
          counts = await this.client.counts(queue);
        } catch {
          return; // Redis away: a gap in the chart
        }
        // The subscription counts into this object: read it and reset it in place.
        const counter = this.settled.get(queue) ?? { completed: 0, failed: 0 };
        const settled = { ...counter };
        counter.completed = counter.failed = 0;
        const list = this.samples.get(queue) ?? [];
        list.push({
          t: Date.now(),
          waiting: counts.waiting,
          delayed: counts.delayed,
          running: counts.running,
          deadLettered: counts.deadLettered,
          oldestWaitingMs: counts.oldestWaitingMs,
          added: counts.added,
          ...settled,
        });
        if (list.length > KEEP) list.shift();
        this.samples.set(queue, list);
      }),
    );
  }
}
