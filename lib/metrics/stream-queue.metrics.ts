import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { QueueClient } from '../client/queue-client';
import { InvalidOptionError } from '../errors';
import { raceTimeout } from '../race-timeout';
import type { QueueCounts, QueueState } from '../interfaces';
import { StreamQueueEvents, type StreamQueueEvent, type StreamQueueEventType } from '../stream-queue.events';
import { TaskRegistry } from '../task/task.registry';
import { DurationTally, foldsIntoHistogram, type DurationSink } from './duration-tally';
import { resolveMetricsConfig, type MetricsConfig } from './metrics-config';
import type { StreamQueueMetricsOptions } from './metrics-options.interface';
import { MODULE_OPTIONS_TOKEN } from './stream-queue-metrics.module-definition';

/** The metrics this module registers, by role. @publicApi */
export const METRIC_NAMES = {
  tasks: 'stream_queue_tasks_total',
  duration: 'stream_queue_task_duration_seconds',
  leaseLost: 'stream_queue_lease_lost_total',
  refused: 'stream_queue_refused_total',
  superseded: 'stream_queue_superseded_total',
  reclaimed: 'stream_queue_reclaimed_total',
  depth: 'stream_queue_depth',
  oldestWaiting: 'stream_queue_oldest_waiting_seconds',
} as const;

/** The `outcome` label of stream_queue_tasks_total: how Redis recorded the end of a run. */
const OUTCOMES: Partial<Record<StreamQueueEventType, string>> = {
  completed: 'completed',
  'retry-scheduled': 'retried',
  'dead-lettered': 'dead_lettered',
};

/**
 * The `task` label of a run whose name this process has no handler for: anyone who can write to
 * the stream chooses that name, and a label value per name would grow the series without bound.
 * No task name can be it (names are letters, digits, "_", ".", ":" and "-").
 */
const UNKNOWN_TASK = '(unknown)';

/**
 * A queue's depth as the gauges report it: its counts, with the group's pending entries split by
 * their consumer's lease (QueueClient.inspect(): one PTTL per listed consumer, never one per entry).
 */
interface Depth extends QueueCounts {
  /** Pending entries of consumers whose lease key is gone (dead, or stalled past their lease). */
  readonly orphaned: number;
}

/**
 * `orphaned`: the pending entries of the listed consumers with no live lease, which no worker runs
 * until a reclaim takes them over. A partition whose group has more consumers than inspect()
 * lists (anyone can create them) has its entries counted running: orphaned is then a lower bound.
 */
function depthOf({ consumers, ...counts }: QueueState): Depth {
  const orphaned = consumers.reduce((sum, c) => sum + (c.alive ? 0 : c.pending), 0);
  return { ...counts, orphaned: Math.min(orphaned, counts.running) };
}

/** One settled (queue, task, outcome) series: its runs not yet added, and where they go. */
interface SettledSeries {
  runs: number;
  counted: { inc(value: number): void };
  timed: DurationSink;
}

/**
 * Registers the queue metrics and keeps them. Counters and the duration histogram follow this
 * process's task events (StreamQueueEvents); the depth gauges are read from Redis when scraped,
 * the fleet's truth rather than this process's view, with one inspect() per queue per scrape (a
 * script call and one pipeline of PTTLs, one per listed consumer, per partition).
 * @publicApi
 */
@Injectable()
export class StreamQueueMetrics implements OnModuleInit, OnModuleDestroy {
  private readonly config: MetricsConfig;
  private readonly logger = new Logger('StreamQueue');
  private readonly stops: (() => void)[] = [];
  private registered: string[] = [];
  private reading?: Promise<Depth[]>;
  /** Each queue's read Redis has not answered yet. */
  private readonly pending = new Map<string, Promise<Depth>>();

  constructor(
    @Inject(MODULE_OPTIONS_TOKEN) options: StreamQueueMetricsOptions,
    private readonly events: StreamQueueEvents,
    private readonly client: QueueClient,
    private readonly tasks: TaskRegistry,
  ) {
    this.config = resolveMetricsConfig(options);
  }

  /**
   * `init()` again after a failed one runs every onModuleInit again: the metrics registered the
   * first time stay, once (registered again, they were refused as another module's, and a second
   * set of listeners would count each run twice). A registration that failed is undone.
   */
  async onModuleInit(): Promise<void> {
    if (this.registered.length > 0) return;
    try {
      await this.registerAll();
    } catch (error) {
      this.onModuleDestroy();
      throw error;
    }
  }

  private async registerAll(): Promise<void> {
    const { registry, durationBuckets } = this.config;
    const folds = await foldsIntoHistogram();
    const tallies: DurationTally[] = [];
    const taskLabels = ['queue', 'task'] as const;
    // Settled runs are counted in plain numbers and added to the counter when it is read (a
    // scrape): prom-client hashes and checks the labels on every inc(), and this runs per task.
    const settled: SettledSeries[] = [];
    const tasks = this.counter(
      registry,
      METRIC_NAMES.tasks,
      'Runs whose end Redis recorded, by outcome.',
      [...taskLabels, 'outcome'],
      () => {
        for (const series of settled) {
          if (series.runs > 0) series.counted.inc(series.runs);
          series.runs = 0;
        }
      },
    );
    const duration = new Histogram({
      name: METRIC_NAMES.duration,
      help: 'How long task handlers ran, in seconds (runs that Redis settled).',
      labelNames: taskLabels,
      buckets: [...durationBuckets],
      registers: [],
      // Durations are tallied per series and folded in when read (see DurationTally).
      collect: () => tallies.forEach((tally) => tally.fold()),
    });
    this.register(registry, duration);
    const leaseLost = this.counter(
      registry,
      METRIC_NAMES.leaseLost,
      "Runs aborted because this worker's lease lapsed.",
      taskLabels,
    );
    const refused = this.counter(
      registry,
      METRIC_NAMES.refused,
      'Settles Redis refused: another worker owned the run, or it was settled already.',
      taskLabels,
    );
    const superseded = this.counter(
      registry,
      METRIC_NAMES.superseded,
      'Runs superseded by a newer generation of their key, before running (head) or when settling (tail).',
      [...taskLabels, 'stage'],
    );
    const reclaimed = this.counter(registry, METRIC_NAMES.reclaimed, "Dead workers' runs this worker took over.", [
      'queue',
    ]);
    this.gauges(registry);

    const task = (e: StreamQueueEvent) => (e.name !== undefined && this.tasks.get(e.name) ? e.name : UNKNOWN_TASK);
    // One duration sink per (queue, task), shared by its outcomes.
    const sinks = new Map<string, Map<string, DurationSink>>();
    const timedSeries = (queue: string, name: string): DurationSink => {
      let byTask = sinks.get(queue);
      if (!byTask) sinks.set(queue, (byTask = new Map()));
      let sink = byTask.get(name);
      if (!sink) {
        if (folds) tallies.push((sink = new DurationTally(duration, { queue, task: name }, durationBuckets)));
        else sink = duration.labels(queue, name);
        byTask.set(name, sink);
      }
      return sink;
    };
    const on = (type: StreamQueueEventType, listener: (e: StreamQueueEvent) => void) =>
      this.stops.push(this.events.on(type, listener));
    // Label children cached per series (outcome, then queue, then task): resolving labels hashes
    // them, and this runs per task. Nested maps, so a lookup builds no key string.
    for (const type of Object.keys(OUTCOMES) as StreamQueueEventType[]) {
      const outcome = OUTCOMES[type]!;
      const byQueue = new Map<string, Map<string, SettledSeries>>();
      on(type, (e) => {
        let byTask = byQueue.get(e.queue);
        if (!byTask) byQueue.set(e.queue, (byTask = new Map()));
        const name = task(e);
        let series = byTask.get(name);
        if (!series) {
          series = { runs: 0, counted: tasks.labels(e.queue, name, outcome), timed: timedSeries(e.queue, name) };
          byTask.set(name, series);
          settled.push(series);
        }
        // One of these three ends each settled run ('failed' comes before the last two: not counted).
        series.runs++;
        if (e.durationMs !== undefined) series.timed.observe(e.durationMs / 1000);
      });
    }
    on('lease-lost', (e) => leaseLost.labels(e.queue, task(e)).inc());
    on('completion-refused', (e) => refused.labels(e.queue, task(e)).inc());
    on('superseded', (e) => superseded.labels(e.queue, task(e), e.detail === 'head' ? 'head' : 'tail').inc());
    on('reclaimed', (e) => reclaimed.labels(e.queue).inc());
  }

  /** Stops listening and removes the metrics from the registry (a second app may register them). */
  onModuleDestroy(): void {
    this.stops.splice(0).forEach((stop) => stop());
    for (const name of this.registered) this.config.registry.removeSingleMetric(name);
    this.registered = [];
  }

  private gauges(registry: Registry): void {
    const readCounts = () => this.readCounts();
    const depth = new Gauge({
      name: METRIC_NAMES.depth,
      help: 'Tasks of the queue as Redis holds them, by state (waiting, delayed, running, orphaned: read by a worker whose lease lapsed, dead_lettered).',
      labelNames: ['queue', 'state'],
      registers: [],
      async collect() {
        this.reset();
        for (const c of await readCounts()) {
          this.labels(c.queue, 'waiting').set(c.waiting);
          this.labels(c.queue, 'delayed').set(c.delayed);
          this.labels(c.queue, 'running').set(c.running - c.orphaned);
          this.labels(c.queue, 'orphaned').set(c.orphaned);
          this.labels(c.queue, 'dead_lettered').set(c.deadLettered);
        }
      },
    });
    const oldest = new Gauge({
      name: METRIC_NAMES.oldestWaiting,
      help: 'Age in seconds of the oldest task waiting to be read, waiting for a flow-control slot, or delayed and past its due time (0 when none waits).',
      labelNames: ['queue'],
      registers: [],
      async collect() {
        this.reset();
        for (const c of await readCounts()) this.labels(c.queue).set((c.oldestWaitingMs ?? 0) / 1000);
      },
    });
    this.register(registry, depth);
    this.register(registry, oldest);
  }

  /**
   * One read per queue per scrape: both gauges' collect() run in the same scrape and share it.
   * It is inspect(), not counts(): the consumers' leases tell a dead worker's pending entries
   * (orphaned) from running ones, at one PTTL per listed consumer (at most CONSUMER_LIST_LIMIT
   * per partition), whatever the number of entries.
   * A queue that cannot be read (a key of the wrong type, a Cluster slot whose master is down) or
   * that Redis has not answered for within timeoutMs is left out with a warning: failing or
   * stalling the scrape would hide every other queue and every counter with it. A read still
   * unanswered is awaited again by the next scrape, never sent anew: a frozen Redis holds at most
   * one read per queue.
   */
  private readCounts(): Promise<Depth[]> {
    const { timeoutMs } = this.config;
    const read = (queue: string) => {
      let pending = this.pending.get(queue);
      if (!pending) {
        pending = this.client
          .inspect(queue)
          .then(depthOf)
          .finally(() => this.pending.delete(queue));
        this.pending.set(queue, pending);
      }
      const answered = pending.catch((error: Error) => {
        this.logger.warn(`Metrics: queue "${queue}" could not be read, its gauges are left out: ${error.message}`);
        return undefined;
      });
      return raceTimeout(answered, timeoutMs, () => {
        this.logger.warn(`Metrics: queue "${queue}" got no answer within ${timeoutMs} ms, its gauges are left out.`);
        return undefined;
      });
    };
    this.reading ??= Promise.all(this.queues().map(read))
      .then((counts) => counts.filter((c): c is Depth => c !== undefined))
      .finally(() => {
        this.reading = undefined;
      });
    return this.reading;
  }

  private queues(): readonly string[] {
    return this.config.queues ?? this.tasks.queues();
  }

  private counter<L extends string>(
    registry: Registry,
    name: string,
    help: string,
    labelNames: readonly L[],
    collect?: () => void,
  ): Counter<L> {
    const counter = new Counter({ name, help, labelNames, registers: [], collect });
    this.register(registry, counter);
    return counter;
  }

  private register(registry: Registry, metric: Counter<string> | Gauge<string> | Histogram<string>): void {
    const { name } = metric as unknown as { name: string };
    if (registry.getSingleMetric(name)) {
      throw new InvalidOptionError(
        'registry',
        `a registry without "${name}" (another StreamQueueMetricsModule registered it; pass each app its own registry)`,
        'a registry that has it',
      );
    }
    registry.registerMetric(metric);
    this.registered.push(name);
  }
}
