import type { Redis } from 'ioredis';
import type { CountChange } from './count-change';
import type { WorldShape } from './worlds';
import type { Delivery, DeliveryInfo, ExploreKeys, Outcome, RawEntry, SimWorker } from './protocol-adapter';
import { RateLedger } from './rate-ledger';
import type { Snapshot } from './snapshot';
import type { Wire } from './wire';
import type { PauseWatch } from '../lib/consumer/pause-watch';

/** The queue name the workers' PauseWatch watches (the explorer's queue has one). */
export const PAUSED_QUEUE = 'explore';

/** A task the explorer knows of: enqueued by a client step, or first seen in Redis (successors). */
export interface TaskInfo {
  readonly id: string;
  /** Short stable name for traces: the id itself for explorer-made ids, s1, s2... for others. */
  readonly alias: string;
  readonly key: string | undefined;
  /** The key's event count when this task was born: a later event supersedes it. */
  readonly born: number;
  /** A client's enqueue returned this id as created: the task must be accounted for. */
  acknowledged: boolean;
  periodic: boolean;
  /** Settled, by a reply or by evidence in Redis (result written, dead-letter entry). */
  settled?: string;
}

/** A handler the library started; it runs until the step `end`. */
export interface Run {
  readonly worker: number;
  readonly info: DeliveryInfo;
  /** The worker's lapse count when the run started. */
  readonly epoch: number;
  /** Its liveness value's incarnation when the run started: a renewal since gave the run up. */
  readonly incarnation: number;
  /** Started while the worker's liveness key existed: legit until the next lapse. */
  readonly legit: boolean;
  readonly finish: (ok: boolean) => void;
}

/** One simulated worker process: the library's parts plus what is in flight inside it. */
export interface WorkerModel {
  readonly index: number;
  /** The queue partition this consumer reads (0 in a world of one partition). */
  readonly partition: number;
  readonly sim: SimWorker;
  readonly wire: Wire;
  alive: boolean;
  /** Lapses of its liveness key so far (DEL by the explorer): runs from before are not legit. */
  epoch: number;
  /** Its liveness key exists (set by its last heartbeat, not lapsed since). */
  keyPresent: boolean;
  /** Read replies executed in Redis, not yet handed to the worker. */
  readonly inbox: RawEntry[][];
  /** Admitted deliveries waiting for a slot to start. */
  readonly admitted: Delivery[];
  readonly running: Map<string, Run>;
  /** Runs that ended, waiting for a settle. */
  outcomes: Outcome[];
  /** Settle calls whose reply is held on the wire. */
  pendingSettles: number;
  /** The library's watch of the queue's pause records: its gate stops reads, sweeps and starts. */
  readonly pause: PauseWatch;
  /** Notices of pause calls published to this worker and not yet heard, oldest first. */
  readonly notices: PauseNotice[];
  /**
   * The newest pause call this worker has learned of: by a notice it heard, or by a poll whose
   * reply it saw (the newest call completed when the poll was sent). 0: none.
   */
  learned: number;
  /** Polls sent whose reply is held: the newest call completed when each was sent. */
  readonly polls: number[];
  /** How often its gate shut: a rated run admitted before a shut is claimed again at its start. */
  pauses: number;
}

/**
 * The lease a keyed run was claimed under (claim.lua records it, field rliv), as the world knows
 * it: whose, its lapse count and liveness incarnation then, and whether its liveness key existed.
 */
export interface ClaimLease {
  readonly worker: number;
  readonly epoch: number;
  readonly incarnation: number;
  readonly keyPresent: boolean;
}

/** A pause() or resume() as its notice says it: the state and the version partition 0 gave it. */
export interface PauseNotice {
  readonly paused: boolean;
  readonly version: number;
}

/** The explorer's view of one schedule: what Redis should say, and what ran where. */
export class World {
  readonly tasks = new Map<string, TaskInfo>();
  /** Per key: acknowledged enqueues, replaces and cancels so far (the key's true generation). */
  readonly keyEvents = new Map<string, number>();
  readonly runs: Run[] = [];
  /** Flow control: each task's group, as its enqueue named it. */
  readonly flowGroups = new Map<string, string>();
  /** Rate limits: every start record seen, the world's clock, the rated runs started. */
  readonly rates = new RateLedger();
  /** Runs that should never have started (found at the step `start`, judged by invariants). */
  readonly startViolations: string[] = [];
  /** Entries an operator deleted from a stream (explore/purge-steps.ts), by entry id. */
  readonly purged = new Set<string>();
  /**
   * Stranded runs (entry ids) a cancel found with the lease they were claimed under held: it left
   * them to their worker's settle, and the sweep's judgement should it die first (see
   * stranded-invariants.ts, strandedAtCancel).
   */
  readonly cancelledHeld = new Set<string>();
  /** Per keyed entry id: the lease its last claim marked it running under. */
  readonly claims = new Map<string, ClaimLease>();
  /** Ids the explorer gave out, so traces can name tasks stably. */
  private aliases = 0;
  /** Completed pause() and resume() calls: version -> paused. */
  readonly pauseCalls = new Map<number, boolean>();
  /** Redis's state after the last step, one snapshot per partition. */
  snapshots: Snapshot[] = [];
  previous?: Snapshot[];
  nextTaskNumber = 1;

  /**
   * `parts`: the keys of every partition (one for the classic world); `countChange`: the
   * operator's change of a partitioned queue's count, absent in the classic world.
   */
  constructor(
    readonly parts: readonly ExploreKeys[],
    readonly client: Redis,
    readonly clientWire: Wire,
    readonly workers: WorkerModel[],
    readonly countChange: CountChange | undefined,
    readonly shape: WorldShape,
  ) {}

  /** Partition 0's keys (the only partition of the classic world). */
  get keys(): ExploreKeys {
    return this.parts[0];
  }

  get snapshot(): Snapshot | undefined {
    return this.snapshots[0];
  }

  snapshotOf(w: WorkerModel): Snapshot {
    return this.snapshots[w.partition];
  }

  /** The count a client process maps keys with: the old one (stale) or the new one (fresh). */
  countOf(by: 'stale' | 'fresh' | undefined): number {
    if (!this.countChange) return this.parts.length;
    return by === 'fresh' ? this.countChange.to : this.countChange.from;
  }

  /**
   * The partitions workers read now: those of the count partition 0's record holds (the larger
   * one while a change is under way, as the CLI reads it). A task beyond it is stranded.
   */
  readCount(): number {
    const record = this.snapshots[0]?.layout ?? '1';
    return Math.max(...record.split('>').map(Number));
  }

  keyEventCount(key: string): number {
    return this.keyEvents.get(key) ?? 0;
  }

  bumpKey(key: string): void {
    this.keyEvents.set(key, this.keyEventCount(key) + 1);
  }

  /** The task of `id`, recorded at first sight with the key's current event count. */
  task(id: string, key: string | undefined): TaskInfo {
    let info = this.tasks.get(id);
    if (!info) {
      const alias = /^[thp]\d+$/.test(id) ? id : `s${++this.aliases}`;
      info = {
        id,
        alias,
        key,
        born: key === undefined ? 0 : this.keyEventCount(key),
        acknowledged: false,
        periodic: false,
      };
      this.tasks.set(id, info);
    }
    return info;
  }

  /**
   * The task a client's enqueue just created, acknowledged. An exhaustive alphabet may enqueue
   * one id again after its run ended: a new task, born now, replaces the old one's record.
   */
  enqueued(id: string, key: string | undefined): TaskInfo {
    this.tasks.delete(id);
    const task = this.task(id, key);
    task.acknowledged = true;
    return task;
  }

  /** Where a step acted, for its note: ` in p<n>` in a partitioned world, else nothing. */
  where(partition: number): string {
    return this.parts.length > 1 ? ` in p${partition}` : '';
  }

  alias(id: string): string {
    return this.tasks.get(id)?.alias ?? id.slice(0, 8);
  }

  /** A keyed task is superseded once its key saw an acknowledged event after its birth. */
  superseded(taskId: string, key: string | undefined): boolean {
    if (key === undefined) return false;
    const task = this.tasks.get(taskId);
    return task !== undefined && this.keyEventCount(key) > task.born;
  }

  /** Finds a task by the alias a step names. */
  byAlias(alias: string): TaskInfo | undefined {
    for (const t of this.tasks.values()) if (t.alias === alias) return t;
    return undefined;
  }

  /** The version of the newest completed pause() or resume() (0: none). */
  newestPauseCall(): number {
    return Math.max(0, ...this.pauseCalls.keys());
  }

  /** Whether worker `w`'s gate is shut: it reads, sweeps and starts nothing. */
  paused(w: WorkerModel): boolean {
    return w.pause.gate(PAUSED_QUEUE).isPaused;
  }

  live(): WorkerModel[] {
    return this.workers.filter((w) => w.alive);
  }

  /**
   * A run is legit while its worker's liveness has not lapsed since it started (and it started
   * while the key existed), nor taken a new value (a renewal after an 'unconfirmed' abort gives
   * the runs it aborted up): a run whose worker lapsed is fenced instead, by design.
   */
  legit(run: Run): boolean {
    const w = this.workers[run.worker];
    return run.legit && w.alive && w.epoch === run.epoch && w.sim.incarnation === run.incarnation;
  }

  /**
   * Whether the lease a keyed entry was claimed under is gone: its worker died, or its liveness
   * key lapsed or took another value since (runLeaseHeld judges the value the claim recorded).
   * Undefined when the world saw no claim of it.
   */
  claimLeaseLost(entryId: string): boolean | undefined {
    const claim = this.claims.get(entryId);
    if (!claim) return undefined;
    const w = this.workers[claim.worker];
    return (
      !claim.keyPresent ||
      !w.alive ||
      !w.keyPresent ||
      w.epoch !== claim.epoch ||
      w.sim.incarnation !== claim.incarnation
    );
  }
}
