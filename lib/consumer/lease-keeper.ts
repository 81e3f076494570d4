import type { Logger } from '@nestjs/common';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { RedisOptions } from 'ioredis';

/** @internal What the lease keeper needs; every queue's liveness key is renewed in one beat. */
export interface LeaseKeeperOptions {
  readonly redisOptions: RedisOptions;
  /** Paths of connection options dropped for the thread (functions), to name on failure. */
  readonly droppedOptions?: string[];
  readonly keys: string[];
  readonly leaseMs: number;
  readonly intervalMs: number;
  readonly maxStallMs: number;
  readonly logger: Logger;
  /** Called when this worker's liveness lapsed: its runs may have been taken over. */
  readonly onLapse: (key: string) => void;
}

/** How often the main loop stamps its progress for the heartbeat thread's watchdog. */
const PROGRESS_STAMP_MS = 100;

/**
 * @internal A lease is ownership (the group's pending list) plus liveness (this key, renewed
 * here): one beat per worker, whatever the number of tasks in flight. The beat runs in a
 * worker thread so a CPU-bound handler cannot starve it, and a watchdog stops it once the main
 * loop has made no progress for `maxStallMs`, so a stalled worker does give its tasks up.
 */
export class LeaseKeeper {
  private worker?: Worker;
  private stampTimer?: NodeJS.Timeout;
  private expiryTimer?: NodeJS.Timeout;
  private confirmedAt: () => number = () => Date.now();

  constructor(private readonly options: LeaseKeeperOptions) {}

  /** Resolves after the first beat, so the keys exist before the first read. */
  start(): Promise<void> {
    const progress = new SharedArrayBuffer(16);
    const stamps = new BigInt64Array(progress);
    const stamp = () => Atomics.store(stamps, 0, BigInt(Date.now()));
    stamp();
    Atomics.store(stamps, 1, BigInt(Date.now()));
    this.stampTimer = setInterval(stamp, PROGRESS_STAMP_MS);
    this.stampTimer.unref();
    const { redisOptions, keys, leaseMs, intervalMs, maxStallMs, logger, onLapse } = this.options;
    // Cut from Redis (network, a Redis restart), this worker cannot renew its lease, and others
    // take its runs over once it lapses. Abort them a beat before that can happen, so handlers
    // that honour ctx.signal stop before a second run starts: no overlap, not just fenced writes.
    this.confirmedAt = () => Number(Atomics.load(stamps, 1));
    let abortedFor = 0n;
    this.expiryTimer = setInterval(
      () => {
        const confirmed = Atomics.load(stamps, 1);
        if (confirmed !== abortedFor && Date.now() - Number(confirmed) > leaseMs - intervalMs) {
          abortedFor = confirmed;
          logger.warn(
            `No heartbeat confirmed for ${Date.now() - Number(confirmed)} ms (leaseMs ${leaseMs}): aborting this worker's runs before its lease can lapse.`,
          );
          onLapse('unconfirmed');
        }
      },
      Math.max(10, Math.floor(intervalMs / 2)),
    );
    this.expiryTimer.unref();
    const worker = new Worker(join(__dirname, 'heartbeat-thread.js'), {
      // Plain JavaScript: the process's preloads (ts-node, APM agents) would only slow its start.
      execArgv: [],
      workerData: {
        ioredisPath: require.resolve('ioredis'),
        redisOptions,
        keys,
        leaseMs,
        intervalMs,
        maxStallMs,
        progress,
      },
    });
    worker.unref();
    this.worker = worker;
    return new Promise((resolve, reject) => {
      worker.once('error', reject);
      worker.on('message', (message: { type: string; key?: string; sinceProgress?: number; error?: string }) => {
        if (message.type === 'ready' && message.error === undefined) resolve();
        else if (message.type === 'ready') {
          // A worker without a heartbeat is presumed dead by every other worker: never start one.
          const dropped = this.options.droppedOptions ?? [];
          const hint =
            dropped.length > 0
              ? ` Options given as functions cannot reach the heartbeat thread: ${dropped.join(', ')}.`
              : '';
          reject(new Error(`The heartbeat connection could not write the liveness key: ${message.error}.${hint}`));
        } else if (message.type === 'lapsed') onLapse(message.key!);
        else if (message.type === 'stalled') {
          logger.warn(
            `Event loop blocked for ${message.sinceProgress} ms (maxStallMs ${maxStallMs}): heartbeats stopped, this worker's runs may be taken over.`,
          );
        }
      });
      worker.on('error', (error) => logger.error(`Heartbeat thread failed: ${error.message}`));
    });
  }

  /**
   * Whether Redis confirmed a beat recently enough that the lease cannot lapse before the next
   * check: a run must not start otherwise (after a cut, a read delivered before it can arrive
   * for messages that were reclaimed meanwhile).
   */
  isHeld(): boolean {
    return Date.now() - this.confirmedAt() <= this.options.leaseMs - this.options.intervalMs;
  }

  /** Stops beating; `release` deletes the liveness keys so other workers reclaim at once. */
  async stop(release: boolean): Promise<void> {
    clearInterval(this.stampTimer);
    clearInterval(this.expiryTimer);
    const worker = this.worker;
    this.worker = undefined;
    if (!worker) return;
    const stopped = new Promise<void>((resolve) => {
      worker.on('message', (m: { type: string }) => m.type === 'stopped' && resolve());
      worker.once('exit', () => resolve());
    });
    worker.postMessage({ type: 'stop', release });
    await Promise.race([stopped, new Promise((r) => setTimeout(r, 2_000).unref())]);
    await worker.terminate();
  }
}
