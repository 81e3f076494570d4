import type { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { RedisUnreachableError } from '../errors';
import { raceTimeout } from '../race-timeout';
import type { ThreadConnection } from '../redis/topology';
import { monotonicMs, type Lease } from './lease';

/** @internal What the lease keeper needs; every queue's liveness key is renewed in one beat. */
export interface LeaseKeeperOptions {
  /** How the thread connects: the same topology as the module's connections. */
  readonly connection: ThreadConnection;
  /** Where, for messages. */
  readonly address: string;
  /** The liveness keys, grouped so that each group may share one pipeline (one slot on a cluster). */
  readonly keyGroups: string[][];
  readonly leaseMs: number;
  readonly intervalMs: number;
  readonly maxStallMs: number;
  readonly logger: Logger;
  /** Called when this worker's liveness lapsed: its runs may have been taken over. */
  readonly onLapse: (key: string) => void;
  /**
   * Deletes one group of liveness keys from the main thread (its command connection), for a
   * clean stop the heartbeat thread did not carry out (it was dead, its restart pending).
   */
  readonly deleteKeys?: (group: string[]) => Promise<unknown>;
}

/** How often the main loop stamps its progress for the heartbeat thread's watchdog. */
export const PROGRESS_STAMP_MS = 100;
/** Restarts of a heartbeat thread that died wait this long, doubling up to the cap. */
const RESTART_DELAY_MS = 100;
const RESTART_DELAY_CAP_MS = 5_000;
/** How long a stop waits for the thread to end, and then for a DEL sent from the main thread. */
const STOP_WAIT_MS = 2_000;
/** Consecutive restarts past which each failure is logged as an error, not a warning. */
const LOUD_AFTER_RESTARTS = 3;

const PROGRESS = 0;
const CONFIRMED = 1;
const HELD_SINCE = 2;
const INCARNATION = 3;
const INCARNATION_SINCE = 4;
/** Renewals of the incarnation asked (renewIncarnation) and done (by the thread, see its header). */
const RENEW_ASKED = 5;
const RENEW_DONE = 6;
/**
 * Then two per liveness key (keyGroups flattened, see the thread's header): the incarnation that
 * last created it, and when that creation was confirmed (UNKNOWN until it is).
 */
const KEY_SLOTS = 7;
const UNKNOWN = BigInt(Number.MAX_SAFE_INTEGER);
const keyCreated = (i: number) => KEY_SLOTS + 2 * i;
const keySince = (i: number) => KEY_SLOTS + 2 * i + 1;

/**
 * @internal A lease is ownership (the group's pending list) plus liveness (these keys, renewed
 * here): one beat per worker, whatever the number of tasks in flight. The beat runs in a
 * worker thread so a CPU-bound handler cannot starve it, and a watchdog stops it once the main
 * loop has made no progress for `maxStallMs`, so a stalled worker does give its tasks up. A
 * thread that dies is restarted with backoff: until it beats again the lease runs down, runs
 * abort before it can lapse and nothing new starts, so a dead thread never leaves a zombie. The
 * new thread shares the stamps, so a key deleted around the restart is a lapse to it as well.
 */
export class LeaseKeeper implements Lease {
  private worker?: Worker;
  private readonly stamps: BigInt64Array;
  /** Each liveness key's place among the per-key slots. */
  private readonly keyIndex: Map<string, number>;
  /** What this process's liveness values start with (the thread appends the incarnation). */
  private readonly incarnationBase = randomBytes(8).toString('hex');
  private stampTimer?: NodeJS.Timeout;
  private expiryTimer?: NodeJS.Timeout;
  private restartTimer?: NodeJS.Timeout;
  private restarts = 0;
  private stopped = false;
  /** The one stop (stop): a later call answers with it and does nothing again. */
  private stopping?: Promise<void>;
  /** The confirmation the last 'unconfirmed' abort was for (watchExpiry). */
  private abortedFor = 0n;
  /** Called at each confirmed beat (onConfirmed), and the confirmation they were last told of. */
  private readonly confirmedListeners = new Set<() => void>();
  private toldConfirmed = 0n;

  constructor(private readonly options: LeaseKeeperOptions) {
    const keys = options.keyGroups.flat();
    this.keyIndex = new Map(keys.map((key, i) => [key, i]));
    this.stamps = new BigInt64Array(new SharedArrayBuffer(8 * (KEY_SLOTS + 2 * keys.length)));
  }

  /** Resolves after the first beat, so the keys exist before the first read. */
  async start(): Promise<void> {
    const stamp = () => Atomics.store(this.stamps, PROGRESS, BigInt(monotonicMs()));
    stamp();
    Atomics.store(this.stamps, CONFIRMED, BigInt(monotonicMs()));
    Atomics.store(this.stamps, HELD_SINCE, -1n);
    Atomics.store(this.stamps, INCARNATION, 0n);
    Atomics.store(this.stamps, INCARNATION_SINCE, -1n);
    Atomics.store(this.stamps, RENEW_ASKED, 0n);
    Atomics.store(this.stamps, RENEW_DONE, 0n);
    for (const i of this.keyIndex.values()) {
      Atomics.store(this.stamps, keyCreated(i), 0n);
      Atomics.store(this.stamps, keySince(i), UNKNOWN);
    }
    this.stampTimer = setInterval(stamp, PROGRESS_STAMP_MS);
    this.stampTimer.unref();
    this.watchExpiry();
    await this.spawn();
  }

  /**
   * Whether Redis confirmed a beat recently enough that the lease cannot lapse before the next
   * check: a run must not start otherwise. Never once stopped: the lease is given up then (its
   * keys deleted, or left to expire), whatever the last beat confirmed. A worker whose command
   * connection ended for good stops its keeper while its blocking read, on a connection of its
   * own, is still in flight: what that read got used to start, beside the worker that took it over.
   */
  isHeld(): boolean {
    if (this.stopped) return false;
    const { leaseMs, intervalMs } = this.options;
    return monotonicMs() - Number(Atomics.load(this.stamps, CONFIRMED)) <= leaseMs - intervalMs;
  }

  heldSince(): number {
    if (!this.isHeld()) return Infinity;
    // A renewal asked and not yet done: what is claimed now records a value about to go.
    if (this.renewalPending()) return Infinity;
    const since = Number(Atomics.load(this.stamps, HELD_SINCE));
    return since < 0 ? Infinity : since;
  }

  /**
   * Runs were aborted as unconfirmed (onLapse('unconfirmed')) and left unsettled while the keys
   * may never have lapsed (the beats came back in time): the next beat writes every key with a new
   * value and starts a new chain, so a keyed run claimed under the old value (field rliv) is
   * judged abandoned, as after a lapse, not held by this live worker for good. Nothing starts
   * until that beat is confirmed (heldSince() Infinity).
   */
  renewIncarnation(): void {
    Atomics.add(this.stamps, RENEW_ASKED, 1n);
  }

  keyedRunUnstarted(provenAt: number): void {
    // Only while the lease is unconfirmed, once its abort aborted every run that started before
    // (done now if watchExpiry has not yet: its condition holds), and nothing starts until a beat
    // is confirmed: a new value then strands no live run's rliv, as for renewIncarnation's own
    // caller. A renewal pending replaces the value the claim recorded, or (its write sent, the
    // incarnation moved on) livenessSince says nothing: not asked again, so claims answered
    // meanwhile cannot keep renewals going. The claim recorded nothing newer than that value
    // (claim.lua marks a run only under the one the worker passed, livenessSince of the same time),
    // so a value moved on since is not the run's.
    if (this.isHeld() || this.renewalPending() || this.livenessSince(provenAt) === undefined) return;
    this.abortIfUnconfirmed();
    if (Atomics.load(this.stamps, CONFIRMED) === this.abortedFor && !this.renewalPending()) this.renewIncarnation();
  }

  onConfirmed(listener: () => void): () => void {
    this.confirmedListeners.add(listener);
    return () => this.confirmedListeners.delete(listener);
  }

  private renewalPending(): boolean {
    return Atomics.load(this.stamps, RENEW_ASKED) !== Atomics.load(this.stamps, RENEW_DONE);
  }

  livenessSince(provenAt: number): string | undefined {
    // The incarnation first: the thread writes its start before it, so this start is its own.
    const n = Atomics.load(this.stamps, INCARNATION);
    const since = Number(Atomics.load(this.stamps, INCARNATION_SINCE));
    return n > 0n && since < provenAt ? `${this.incarnationBase}:${n}` : undefined;
  }

  unbrokenSince(key: string, value: string | null): number {
    const i = this.keyIndex.get(key);
    const own = value?.startsWith(`${this.incarnationBase}:`) ? value.slice(this.incarnationBase.length + 1) : '';
    if (i === undefined || !/^[0-9]{1,15}$/.test(own)) return Infinity;
    // The creation first: the thread moves it before it writes, so a value it wrote is never
    // read with an older creation's start.
    if (BigInt(own) < Atomics.load(this.stamps, keyCreated(i))) return Infinity;
    return Number(Atomics.load(this.stamps, keySince(i)));
  }

  /** @internal For tests: the running heartbeat thread, to kill it. */
  get thread(): Worker | undefined {
    return this.worker;
  }

  /**
   * Stops beating; `release` deletes the liveness keys so other workers reclaim at once. The
   * thread deletes them (after its last write, on its one connection: see its 'stop' handler);
   * when it did not (it was dead, its restart pending; it died or hung before its answer), they
   * are deleted from the main thread once no thread can write them any more: the thread ended
   * (exited, or terminated here), and no restart starts after `stopped` (spawn). Without that,
   * the key stayed up to a lease after the last beat, and the abandoned runs waited as long.
   * Only the first call stops (its `release` counts); a later one returns its promise. A command
   * connection that ends for good stops the keeper at once and again by the drain: the second
   * call found no thread, took the keys for not deleted and deleted them over the ended
   * connection, logging a false warning that it failed.
   */
  stop(release: boolean): Promise<void> {
    this.stopping ??= this.stopOnce(release);
    return this.stopping;
  }

  private async stopOnce(release: boolean): Promise<void> {
    this.stopped = true;
    clearInterval(this.stampTimer);
    clearInterval(this.expiryTimer);
    clearTimeout(this.restartTimer);
    const worker = this.worker;
    this.worker = undefined;
    let released = false;
    if (worker) {
      const stopped = new Promise<void>((resolve) => {
        worker.on('message', (m: { type: string; released?: boolean }) => {
          if (m.type !== 'stopped') return;
          released = m.released === true;
          resolve();
        });
        worker.once('exit', () => resolve());
      });
      worker.postMessage({ type: 'stop', release });
      await raceTimeout(stopped, STOP_WAIT_MS, () => undefined, { unref: true });
      await worker.terminate();
    }
    if (release && !released) await this.deleteFromMain();
  }

  /** The keys' DEL from the main thread (see stop), bounded: an unreachable Redis lets them expire. */
  private async deleteFromMain(): Promise<void> {
    const { keyGroups, deleteKeys, logger } = this.options;
    if (!deleteKeys) return;
    const groups = keyGroups.filter((group) => group.length > 0);
    const deleted = Promise.all(groups.map((group) => deleteKeys(group))).catch((error: Error) =>
      logger.warn(`Deleting this worker's liveness keys at its stop failed (${error.message}): they expire instead.`),
    );
    await raceTimeout(deleted, STOP_WAIT_MS, () => undefined, { unref: true });
  }

  /**
   * Cut from Redis (network, a Redis restart), this worker cannot renew its lease, and others
   * take its runs over once it lapses. Abort them a beat before that can happen, so handlers
   * that honour ctx.signal stop before a second run starts: no overlap, not just fenced writes.
   */
  private watchExpiry(): void {
    const { intervalMs } = this.options;
    this.expiryTimer = setInterval(
      () => {
        this.abortIfUnconfirmed();
        this.tellConfirmed();
      },
      Math.max(10, Math.floor(intervalMs / 2)),
    );
    this.expiryTimer.unref();
  }

  /**
   * Once per confirmed beat, on the expiry watch's tick (within half an interval of it): tells the
   * listeners once a claim sent now would pass a liveness value proven this worker's (both
   * checks strict, as their readers are: in the beat's own millisecond, the next tick tells).
   */
  private tellConfirmed(): void {
    const confirmed = Atomics.load(this.stamps, CONFIRMED);
    if (this.confirmedListeners.size === 0 || confirmed === this.toldConfirmed) return;
    const now = monotonicMs();
    if (!(this.heldSince() < now) || this.livenessSince(now) === undefined) return;
    this.toldConfirmed = confirmed;
    for (const listener of this.confirmedListeners) listener();
  }

  /** Once per confirmation: aborts the runs when the lease is no longer held (isHeld). */
  private abortIfUnconfirmed(): void {
    const { leaseMs, intervalMs, logger, onLapse } = this.options;
    const confirmed = Atomics.load(this.stamps, CONFIRMED);
    const silentMs = monotonicMs() - Number(confirmed);
    if (confirmed !== this.abortedFor && silentMs > leaseMs - intervalMs) {
      this.abortedFor = confirmed;
      logger.warn(
        `No heartbeat confirmed for ${silentMs} ms (leaseMs ${leaseMs}): aborting this worker's runs before its lease can lapse.`,
      );
      onLapse('unconfirmed');
    }
  }

  /**
   * Starts the heartbeat thread; resolves after its first beat, rejects if that failed. None
   * once stopped: a thread started then would beat after the stop's DEL.
   */
  private spawn(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const { connection, keyGroups, leaseMs, intervalMs, maxStallMs, logger, onLapse } = this.options;
    const worker = new Worker(join(__dirname, 'heartbeat-thread.js'), {
      // Plain JavaScript: the process's preloads (ts-node, APM agents) would only slow its start.
      execArgv: [],
      workerData: {
        ioredisPath: require.resolve('ioredis'),
        connection,
        keyGroups,
        leaseMs,
        intervalMs,
        maxStallMs,
        progress: this.stamps.buffer,
        incarnationBase: this.incarnationBase,
      },
    });
    worker.unref();
    this.worker = worker;
    return new Promise((resolve, reject) => {
      let ready = false;
      worker.on('message', (message: { type: string; key?: string; sinceProgress?: number; error?: string }) => {
        if (message.type === 'ready' && message.error === undefined) {
          ready = true;
          this.restarts = 0;
          resolve();
        } else if (message.type === 'ready') {
          reject(this.firstBeatFailed(message.error!));
        } else if (message.type === 'lapsed') onLapse(message.key!);
        else if (message.type === 'stalled') {
          logger.warn(
            `Event loop blocked for ${message.sinceProgress} ms (maxStallMs ${maxStallMs}): heartbeats stopped, this worker's runs may be taken over.`,
          );
        }
      });
      worker.once('error', (error) => {
        if (!ready) reject(error);
        this.onThreadDeath(worker, `failed: ${error.message}`);
      });
      worker.once('exit', (code) => this.onThreadDeath(worker, `exited with code ${code}`));
    });
  }

  /**
   * A worker without a heartbeat is presumed dead by every other worker: never start one. The
   * same typed error as a bootstrap that could not reach Redis, naming the address.
   */
  private firstBeatFailed(error: string): Error {
    const { address } = this.options;
    return new RedisUnreachableError(
      address,
      error,
      `Redis at ${address} could not be reached by the heartbeat thread (it writes this worker's liveness key): ${error}.`,
    );
  }

  private onThreadDeath(worker: Worker, how: string): void {
    if (this.stopped || this.worker !== worker) return;
    this.worker = undefined;
    this.restartLater(how);
  }

  /**
   * Restarts the thread after a delay that doubles with each restart. Node creates the thread in
   * `new Worker()` and throws there when it cannot (ERR_WORKER_INIT_FAILED: a host or container
   * at its thread or memory limit): that restart is tried again later, as a thread that died is.
   * The throw used to escape the timer, an uncaught exception that ended the process (or, caught
   * by the application, left the worker without a heartbeat for good, never restarted).
   */
  private restartLater(how: string): void {
    const delay = Math.min(RESTART_DELAY_MS * 2 ** this.restarts, RESTART_DELAY_CAP_MS);
    this.restarts += 1;
    const message = `Heartbeat thread ${how}; restarting it in ${delay} ms (restart ${this.restarts}). Until it beats again this worker starts nothing and its runs abort before the lease can lapse.`;
    if (this.restarts > LOUD_AFTER_RESTARTS) this.options.logger.error(message);
    else this.options.logger.warn(message);
    this.restartTimer = setTimeout(() => {
      if (this.stopped) return;
      let started: Promise<void>;
      try {
        started = this.spawn();
      } catch (error) {
        return this.restartLater(`could not be created (${(error as Error).message})`);
      }
      started.catch((error: Error) => {
        // spawn() failing its first beat leaves a live thread that keeps beating and may recover;
        // one that died is handled by its exit listener.
        this.options.logger.warn(`Restarted heartbeat thread: ${error.message}`);
      });
    }, delay);
    this.restartTimer.unref();
  }
}
