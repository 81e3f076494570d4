/**
 * The ONLY file of the explorer that knows the library's internals: script names and arguments,
 * reply codes, the consumer classes that decide what runs (Intake, TaskRunner) and how a run is
 * settled (Settler). Everything else in explore/ speaks this file's small vocabulary (SimWorker,
 * DeliveryInfo, EnqueueSpec...). When the protocol changes, port this file; the rest should not
 * need to change.
 *
 * Where the library's decision lives in a class, the explorer calls that class (Intake.admit for
 * the head check and the dead-lettering of malformed entries, TaskRunner.run for the start rule,
 * Settler.settle for settle arguments and reply interpretation). Where the library decides with
 * timers or I/O the explorer replaces (which candidates a sweep takes, when a heartbeat runs),
 * the script is called here through its typed wrapper (lib/scripts/*.script.ts), as the library
 * calls it.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { plainMessageFields, type EnqueueCall } from '../lib/client/enqueue-call';
import { enqueueScriptFor, sendEnqueue } from '../lib/client/enqueue-script';
import { sendCancel } from '../lib/client/send-cancel';
import type { Delivery } from '../lib/consumer/delivery';
import { InFlight } from '../lib/consumer/in-flight';
import { DeadLetterer } from '../lib/consumer/dead-letterer';
import { endStrandedCancels } from '../lib/consumer/stranded-cancels';
import { Intake, type RawEntry } from '../lib/consumer/intake';
import { monotonicMs, type Lease } from '../lib/consumer/lease';
import type { Outcome } from '../lib/consumer/outcome';
import type { QueueContext } from '../lib/consumer/queue-context';
import { Settler } from '../lib/consumer/settler';
import { Slots } from '../lib/consumer/slots';
import { TaskRunner } from '../lib/consumer/task-runner';
import { LeaseLostError, PartitionLayoutError } from '../lib/errors';
import { partitionOfGroup, partitionOfKey, QueuePartitions } from '../lib/partitions/queue-partitions';
import { retryUnderStoredCount } from '../lib/partitions/stored-count-retry';
import { QueueKeys, type FlowKeys } from '../lib/redis/keys';
import { loadLuaSource } from '../lib/redis/lua-source';
import { defineScripts, SCRIPT_NAMES } from '../lib/redis/scripts';
import { CANCEL_CODES } from '../lib/scripts/cancel.script';
import { CLAIM_CODES } from '../lib/scripts/claim.script';
import { COMPLETE_CODES } from '../lib/scripts/complete.script';
import { DEAD_LETTER_CODES } from '../lib/scripts/dead-letter.script';
import type { FlowLimits } from '../lib/scripts/enqueue-flow.script';
import { enqueueManyScript } from '../lib/scripts/enqueue-many.script';
import { FAIL_CODES } from '../lib/scripts/fail.script';
import { LAYOUT_CODES, layoutScript } from '../lib/scripts/layout.script';
import { promoteDue } from '../lib/scripts/promote.script';
import { purgeDeadLettersScript } from '../lib/scripts/purge-dead-letters.script';
import { reclaimScript } from '../lib/scripts/reclaim.script';
import { recordLimitsScript } from '../lib/scripts/record-limits.script';
import { recoverScript } from '../lib/scripts/recover.script';
import { REMOVE_TASK_CODES, removeTaskScript, type RemoveTaskReply } from '../lib/scripts/remove-task.script';
import { resolveConfig, type StreamQueueConfig } from '../lib/stream-queue.config';
import { CONSUMER_GROUP } from '../lib/stream-queue.constants';
import type { StreamQueueEvent, StreamQueueEvents } from '../lib/stream-queue.events';
import { holdsGroupLimit } from '../lib/task/flow-limits';
import { periodicKey } from '../lib/task/schedule';
import { TaskRegistry } from '../lib/task/task.registry';
import type { ResolvedTaskOptions } from '../lib/task/resolved-task-options';

export type { Delivery, Outcome, RawEntry };
export const GROUP = CONSUMER_GROUP;
export const TASK = 'job';
/** A second task under flow control (the `mixed` world): its settles and waits meet the first's. */
export const OTHER_TASK = 'rush';
export const PERIODIC_TASK = 'tick';
export const PERIODIC_KEY = periodicKey(PERIODIC_TASK);
/** Delivery count at which reclaim dead-letters a pending entry as poison. */
export const MAX_DELIVERIES = 2;
/** Attempts of a failing task: the first failure retries, the second is final. */
export const MAX_ATTEMPTS = 2;
/** Payloads above this are dead-lettered by the consumer before any run ("big" enqueues). */
export const MAX_PAYLOAD_BYTES = 256;
const LEASE_MS = 60_000;
const TTL_MS = 60_000;

/** Short delays everywhere; the explorer's promote step advances time instead of sleeping. */
export const CONFIG: StreamQueueConfig = resolveConfig({
  connection: {},
  leaseMs: LEASE_MS,
  heartbeatIntervalMs: 10_000,
  sweepIntervalMs: 10,
  maxDeliveries: MAX_DELIVERIES,
  resultTtlMs: TTL_MS,
  maxPayloadBytes: MAX_PAYLOAD_BYTES,
  blockMs: 1,
});

/** The Redis keys of one explored queue's partition (library naming). */
export class ExploreKeys {
  private readonly q: QueueKeys;
  constructor(prefix: string, queue: string, partition = 0) {
    this.q = new QueueKeys(prefix, queue, partition);
  }
  get partition(): number {
    return this.q.partition;
  }
  get tag(): string {
    return this.q.tag;
  }
  get stream(): string {
    return this.q.stream;
  }
  get delayed(): string {
    return this.q.delayed;
  }
  get deadLetter(): string {
    return this.q.deadLetter;
  }
  keyState(key: string): string {
    return this.q.keyState(key);
  }
  result(taskId: string): string {
    return this.q.result(taskId);
  }
  alive(consumer: string): string {
    return this.q.alive(consumer);
  }
  get layout(): string {
    return this.q.layout;
  }
  /** Flow control's keys of the partition, by name (see lib/scripts/includes/flow.lua). */
  get flow(): FlowKeys {
    return this.q.flow;
  }
  get queueKeys(): QueueKeys {
    return this.q;
  }
}

/** Registers (defineCommand) and loads (SCRIPT LOAD) every script, so a resent EVALSHA never misses. */
export async function prepareConnection(redis: Redis): Promise<void> {
  defineScripts(redis);
  for (const name of SCRIPT_NAMES) await redis.script('LOAD', loadLuaSource(name));
}

export async function createGroup(redis: Redis, keys: ExploreKeys): Promise<void> {
  await redis.xgroup('CREATE', keys.stream, GROUP, '0', 'MKSTREAM');
}

/** What a client enqueues: kinds map to the library's enqueue paths. */
export interface EnqueueSpec {
  readonly id: string;
  readonly kind: 'plain' | 'keyed' | 'delayed' | 'every' | 'big';
  readonly key?: string;
  readonly mode: 'add' | 'replace';
}
export interface EnqueueReply {
  readonly id: string;
  readonly generation: number;
  readonly created: boolean;
  /** The stream entry a created run was written to (or, for a resend, the one it was). */
  readonly entryId?: string;
}

/** A task's encoded payload: its id, or (big) one over the consumers' maxPayloadBytes. */
const payloadOf = (id: string, big: boolean): string => JSON.stringify(big ? 'x'.repeat(MAX_PAYLOAD_BYTES) : id);

/** The partition of a task key among `count` (the library's mapping). */
export const partitionOf = (key: string, count: number): number => partitionOfKey(key, count);

/** The partition of a flow group's tasks among `count` ('' is the ungrouped group). */
export const partitionOfFlowGroup = (group: string, count: number): number => partitionOfGroup(group, count);

/**
 * QueueClient.enqueue on the partition `keys` (the key's under the caller's count `partitions`, or
 * the unkeyed task's turn): a plain XADD for an unkeyed task due now on partition 0, enqueue-many.lua
 * for one on another partition (it checks the layout there), else enqueue.lua. A layout refusal
 * (PartitionLayoutError) is returned as `refused`.
 */
export async function enqueue(
  redis: Redis,
  keys: ExploreKeys,
  spec: EnqueueSpec,
  partitions = 1,
): Promise<EnqueueReply | Refused> {
  const periodic = spec.kind === 'every';
  const call: EnqueueCall = {
    name: periodic ? PERIODIC_TASK : TASK,
    queue: 'explore',
    keys: keys.queueKeys,
    partitions,
    key: periodic ? PERIODIC_KEY : spec.key,
    payload: payloadOf(spec.id, spec.kind === 'big'),
    delayMs: spec.kind === 'delayed' || periodic ? 1 : 0,
    runAt: 0,
    mode: periodic ? 'add' : spec.mode,
    everyMs: periodic ? 1 : 0,
    periodic,
  };
  try {
    if (call.key === undefined && call.delayMs === 0 && keys.partition === 0) {
      await redis.xadd(keys.stream, '*', ...plainMessageFields(spec.id, call));
      return { id: spec.id, generation: 0, created: true };
    }
    if (call.key === undefined && keys.partition > 0) {
      await enqueueManyScript(keys.queueKeys, [{ ...call, id: spec.id }], partitions).run(redis);
      return { id: spec.id, generation: 0, created: true };
    }
    const reply = await sendEnqueue(call, (script) => script.run(redis), spec.id);
    const entryId = reply.outcome === 'created' ? reply.entryId : undefined;
    return { id: reply.id, generation: reply.generation, created: reply.outcome === 'created', entryId };
  } catch (error) {
    return layoutRefusal(error);
  }
}

/** A write the scripts refused for its partition layout (PartitionLayoutError), as a step reports it. */
export interface Refused {
  readonly refused: string;
}

/** A layout refusal (PartitionLayoutError) as a step's `refused`; any other error is thrown. */
function layoutRefusal(error: unknown): Refused {
  const refusal = PartitionLayoutError.fromReply('explore', error as Error);
  if (!(refusal instanceof PartitionLayoutError)) throw error;
  return { refused: `PartitionLayoutError (stored ${refusal.stored}, caller ${refusal.configured})` };
}

/** One layout.lua call of a count change `from` -> `to` on one partition (PartitionLayouts.switchCount). */
export async function layoutStep(
  redis: Redis,
  keys: ExploreKeys,
  step: 'freeze' | 'commit' | 'thaw',
  from: number,
  to: number,
  sequenceFloor?: number,
): Promise<{ outcome: (typeof LAYOUT_CODES)[keyof typeof LAYOUT_CODES]; record: string }> {
  return layoutScript(keys.queueKeys, { step, from, to, sequenceFloor }).run(redis);
}

/** The highest sequence of the partitions (switchCount reads it once all are frozen). */
export async function highestSequence(redis: Redis, parts: readonly ExploreKeys[]): Promise<number> {
  const sequences = await Promise.all(parts.map((k) => redis.get(k.queueKeys.seq)));
  return Math.max(0, ...sequences.map((s) => Number(s ?? 0) || 0));
}

/**
 * QueueClient.cancel (cancelKey), from a process that uses `partitions` for the queue whose
 * partition 0 is `keys`: refused for a stale count, retried once under the count Redis records.
 * Says whether it cancelled, and in which partition it looked last.
 */
export async function cancel(
  redis: Redis,
  keys: ExploreKeys,
  key: string,
  partitions = 1,
): Promise<{ cancelled: boolean; partition: number; retried: boolean } | Refused> {
  const { prefix, queue } = keys.queueKeys;
  const callId = randomUUID(); // one per call, as QueueClient draws it (a resend would carry it)
  try {
    return await retryUnderStoredCount(redis, new QueuePartitions(prefix, queue, partitions), async (mapping) => {
      const at = mapping.forKey(key);
      const args = { key, stateTtlMs: CONFIG.resultTtlMs, partitions: mapping.count, callId };
      const done = await sendCancel(redis, at, args).catch((error: Error) => {
        throw PartitionLayoutError.fromReply(queue, error);
      });
      return { cancelled: done === 'cancelled', partition: at.partition, retried: mapping.count !== partitions };
    });
  } catch (error) {
    return layoutRefusal(error);
  }
}

/** Sweeper.promote's calls (read-due.lua, then promote.lua with the key states declared). */
export async function promote(redis: Redis, keys: ExploreKeys): Promise<[number, number]> {
  const { moved, nextDueInMs } = await promoteDue(redis, keys.queueKeys, {
    limit: 1000,
    deadLetterMaxLen: 2 ** 20,
    stateTtlMs: CONFIG.resultTtlMs,
  });
  return [moved, nextDueInMs];
}

/** A hostile producer XADDs straight to the stream: thousands of fields, or no task name. */
export function hostileFields(id: string, kind: 'wide' | 'malformed'): string[] {
  if (kind === 'malformed') return ['id', id, 'p', 'null'];
  // `a` is the last attempt, so the first failure dead-letters the entry as written.
  const fields = ['id', id, 'n', TASK, 'p', 'null', 'a', String(MAX_ATTEMPTS)];
  for (let i = 0; i < 5000; i++) fields.push(`x${i}`, '1');
  return fields;
}

/** What the explorer needs to know of a delivered or settled run. */
export interface DeliveryInfo {
  readonly entryId: string;
  readonly taskId: string;
  readonly key: string | undefined;
  readonly generation: number;
  /** Admitted under a rate limit (field rl): its start goes through claim.lua. */
  readonly rated?: boolean;
}
export const describe = (d: Delivery): DeliveryInfo => ({
  entryId: d.message.entryId,
  taskId: d.message.id,
  key: d.message.key,
  generation: d.message.generation,
  ...(d.message.flow?.rated ? { rated: true } : {}),
});
export const outcomeDelivery = (o: Outcome): Delivery => o.delivery;
/** An outcome that leaves the run pending (a lease lost before start): nothing to settle. */
export const isAbandoned = (o: Outcome): boolean => o.kind === 'abandoned';

/**
 * What a client enqueues under flow control: a group, a priority, due now or later; `big` is a
 * payload over the consumers' maxPayloadBytes, which they dead-letter unrun (a producer with
 * another config wrote it).
 */
export interface FlowEnqueueSpec {
  readonly id: string;
  /** The task's name: TASK unless given. */
  readonly name?: string;
  readonly group?: string;
  readonly priority?: number;
  readonly delayed: boolean;
  readonly big: boolean;
  readonly limits: FlowLimits;
}

/**
 * QueueClient.enqueue of a task under flow control (enqueueScriptFor: enqueue-flow.lua, with the
 * explorer's id) on the group's partition `keys`, from a process mapping `partitions`. Returns the
 * stream entry id when admitted at once, '' when it waits or is delayed, or a layout refusal.
 */
export async function enqueueFlow(
  redis: Redis,
  keys: ExploreKeys,
  spec: FlowEnqueueSpec,
  partitions = 1,
): Promise<string | Refused> {
  const call: EnqueueCall = {
    name: spec.name ?? TASK,
    queue: 'explore',
    keys: keys.queueKeys,
    partitions,
    key: undefined,
    payload: payloadOf(spec.id, spec.big),
    delayMs: spec.delayed ? 1 : 0,
    runAt: 0,
    mode: 'add',
    everyMs: 0,
    periodic: false,
    flow: { group: spec.group, priority: spec.priority, limits: spec.limits },
  };
  try {
    const reply = await enqueueScriptFor(call, spec.id).run(redis);
    return (reply.outcome === 'created' ? reply.entryId : undefined) ?? '';
  } catch (error) {
    return layoutRefusal(error);
  }
}

/** purge-dead-letters.lua of every dead letter of one partition (the CLI's `dlq purge --all`): how many went. */
export function purgeDeadLetters(redis: Redis, keys: ExploreKeys): Promise<number> {
  return purgeDeadLettersScript(keys.queueKeys, []).run(redis);
}

/** record-limits.lua on one partition, as a worker with the task's definition mapping `count` partitions calls it at its start. */
export async function recordLimits(redis: Redis, keys: ExploreKeys, limits: FlowLimits, count: number): Promise<void> {
  await recordLimitsScript(keys.queueKeys, [{ name: TASK, limits }], count).run(redis);
}

/**
 * A worker with the definition of TASK under `limits`, mapping the queue's `count` partitions:
 * its Intake moves plain entries of TASK into admission (enter-admission.lua) where the count
 * routes the ungrouped group, and dead-letters those elsewhere.
 */
export interface WorkerFlow {
  readonly limits: FlowLimits;
  readonly count: number;
}

/**
 * Where removeTask (lib/client/task-removal.ts) located a task: its entry, its delayed member, or
 * the flow waiting room (found by its wait in flow:tasks).
 */
export type RemovalTarget = { readonly entryId: string } | { readonly member: string } | { readonly waiting: true };

/** remove-task.lua, as QueueClient.remove calls it once the task is located. */
export function removeTask(redis: Redis, keys: ExploreKeys, id: string, at: RemovalTarget): Promise<RemoveTaskReply> {
  const task =
    'entryId' in at
      ? { id, state: 'queued' as const, ...at }
      : 'member' in at
        ? { id, state: 'delayed' as const, ...at }
        : { id, state: 'waiting' as const };
  return removeTaskScript(keys.queueKeys, task, CONFIG.resultTtlMs).run(redis);
}

/** A task id reported by a library event, with what Redis decided for it. */
export interface Report {
  readonly type: string;
  readonly taskId?: string;
  readonly detail?: string;
}

/** A logger that says nothing: the explorer reports through its trace. */
export const SILENT = { log() {}, warn() {}, error() {}, debug() {}, verbose() {} } as unknown as Logger;

/**
 * One simulated worker: the library's consumer parts on a connection the explorer controls.
 * `onStart(run)` is called when the library calls the handler; it returns the handler's
 * promise, which the explorer resolves or rejects at the step `end`.
 */
export class SimWorker {
  readonly reports: Report[] = [];
  believesLease = true;
  /** A beat is under way (its reply held): the thread sends no other meanwhile. */
  beating = false;
  /** Since when (monotonicMs) the liveness key has existed without a break, as beats showed. */
  private heldSinceMs = -Infinity;
  private established = false;
  /** The heartbeat thread's incarnation: the liveness key holds `<consumer>:<n>`. */
  private incarnationNumber = 0;
  /**
   * When (monotonicMs) the reply came that wrote the current incarnation (the thread's slot 4):
   * Infinity while that write is on its way.
   */
  private incarnationSinceMs = Infinity;
  /** Renewals asked (LeaseKeeper.renewIncarnation) and done, by the beat that began after the ask. */
  private renewalsAsked = 0;
  private renewalsDone = 0;
  private get renewalAsked(): boolean {
    return this.renewalsAsked !== this.renewalsDone;
  }
  private livenessValue(): string {
    return `${this.consumer}:${this.incarnationNumber}`;
  }
  /** The liveness value's incarnation: a run claimed under another one was given up. */
  get incarnation(): number {
    return this.incarnationNumber;
  }
  /** When the request that handed over each batch of entries was sent (see Intake's Handover). */
  private readonly sentAt = new WeakMap<RawEntry[], number>();
  private readonly deadLetterer: DeadLetterer;
  private readonly ctx: QueueContext;
  private readonly intake: Intake;
  private readonly runner: TaskRunner;
  private readonly settler: Settler;
  private readonly started = new WeakSet<Delivery>();
  /** Started deliveries whose abort a lapse would have signalled (the explorer lets them run). */
  private readonly toldOfLapse = new WeakSet<Delivery>();

  constructor(
    readonly redis: Redis,
    readonly keys: ExploreKeys,
    readonly consumer: string,
    onStart: (run: DeliveryInfo) => Promise<unknown>,
    /** The definition of TASK's limits this worker has, and its count; none: it admits every entry as read. */
    flow?: WorkerFlow,
  ) {
    const events = { emit: (e: StreamQueueEvent) => this.reports.push(e) } as unknown as StreamQueueEvents;
    this.ctx = {
      queue: 'explore',
      keys: keys.queueKeys,
      group: GROUP,
      consumer,
      redis,
      config: CONFIG,
      events,
      logger: SILENT,
      inFlight: new InFlight(),
      slots: new Slots(1000),
      delayedAdded: () => undefined,
      lease: this.lease,
    };
    this.deadLetterer = new DeadLetterer(this.ctx);
    const registry = new TaskRegistry();
    const handler = (_payload: unknown, context: unknown) => {
      const c = context as { fencingToken: string; id: string; key: string | undefined; generation: number };
      return onStart({ entryId: c.fencingToken.split('/')[0], taskId: c.id, key: c.key, generation: c.generation });
    };
    for (const name of [TASK, OTHER_TASK, PERIODIC_TASK]) {
      registry.add({ name, options: taskOptions(name === PERIODIC_TASK), location: 'explore', handler });
    }
    this.intake = flow
      ? new Intake(this.ctx, (name) => (name === TASK ? flow.limits : undefined), undefined, undefined, {
          count: flow.count,
          ungrouped: partitionOfGroup(undefined, flow.count),
          groupLimited: holdsGroupLimit(flow.limits),
        })
      : new Intake(this.ctx);
    this.runner = new TaskRunner(registry, 'explore', consumer, this.ctx.lease);
    this.settler = new Settler(this.ctx);
  }

  /**
   * LeaseKeeper's view: held while believed; its unbroken stretch began at the last lapse seen
   * (Infinity while a renewal is asked: nothing starts until the new value is written). A keyed
   * run not started while the lease is unconfirmed asks a new value (keyedRunUnstarted), as
   * LeaseKeeper does: its claim recorded the current one (rliv).
   */
  private get lease(): Lease {
    return {
      isHeld: () => this.believesLease,
      heldSince: () => (this.believesLease && !this.renewalAsked ? this.heldSinceMs : Infinity),
      livenessSince: (provenAt) =>
        this.incarnationNumber > 0 && this.incarnationSinceMs < provenAt ? this.livenessValue() : undefined,
      keyedRunUnstarted: (provenAt) => {
        // The 'unconfirmed' abort (noticeLapse) came first: the lease is unconfirmed only after it.
        if (this.believesLease || this.renewalAsked || this.lease.livenessSince(provenAt) === undefined) return;
        this.renewalsAsked++;
      },
    };
  }

  /** The shared read's XREADGROUP for one stream (without BLOCK: the explorer never waits for entries). */
  async read(count: number): Promise<RawEntry[]> {
    const sentAt = monotonicMs();
    const reply = (await this.redis.xreadgroup(
      'GROUP',
      GROUP,
      this.consumer,
      'COUNT',
      count,
      'STREAMS',
      this.keys.stream,
      '>',
    )) as [string, RawEntry[]][] | null;
    this.ctx.slots.reserve(reply?.[0]?.[1]?.length ?? 0);
    const entries = reply?.[0]?.[1] ?? [];
    this.sentAt.set(entries, sentAt);
    return entries;
  }

  /** Intake.admit: the head check (claim.lua) for keyed entries, dead-letter for malformed ones. */
  admit(entries: RawEntry[]): Promise<Delivery[]> {
    return this.intake.admit({ entries, sentAt: this.sentAt.get(entries) ?? -Infinity });
  }

  /**
   * A rated delivery that claim.lua told to wait for a token: QueueConsumer holds it (RateHold,
   * on a timer) before its handler. An aborted one is not held: it goes to the runner, which
   * abandons it.
   */
  waitsForToken(delivery: Delivery): boolean {
    return delivery.rateWaitMs !== undefined && !delivery.isAborted;
  }

  /**
   * RateHold's timer fired: Intake.claimAgain, as QueueConsumer.runWhenFree calls it. The
   * delivery may start, waits again, or (no longer this consumer's) is aborted.
   */
  claimAgain(delivery: Delivery): Promise<void> {
    return this.intake.claimAgain(delivery);
  }

  /** TaskRunner.run: the start rule. Resolves with the outcome once the handler ended. */
  run(delivery: Delivery): Promise<Outcome> {
    this.started.add(delivery);
    return this.runner.run(delivery);
  }

  /** Settler.settle; returns the outcomes to retry. Settled ones leave memory, as QueueConsumer does. */
  async settle(outcomes: Outcome[]): Promise<Outcome[]> {
    const unsettled = await this.settler.settle(outcomes.filter((o) => !isAbandoned(o)));
    for (const o of outcomes) if (!unsettled.includes(o)) this.forget(o.delivery);
    return unsettled;
  }

  /** QueueConsumer.release for a delivery that leaves this process without a settle. */
  forget(delivery: Delivery): void {
    this.ctx.inFlight.delete(delivery.message.entryId);
  }

  holds(entryId: string): boolean {
    return this.ctx.inFlight.has(entryId);
  }

  /**
   * The heartbeat thread's beat: the key renewed with the lease's value (SET PX GET); a key found
   * gone is written anew with a value it never held (the thread's next incarnation: a keyed run
   * records the value it was claimed under, field rliv, and a judge takes another value for a
   * lapse). A missing key it had established means the lease lapsed, reported like LeaseKeeper's
   * onLapse. A confirmed beat restores the lease belief (LeaseKeeper.isHeld). `beforeNewValue`
   * is called before the write of a new value is sent (the explorer may hold its reply).
   */
  async heartbeat(beforeNewValue: () => void = () => undefined): Promise<{ lapsed: boolean }> {
    this.beating = true;
    const key = this.keys.alive(this.consumer);
    // A renewal asked writes the next incarnation over the key (createAll's SET XX).
    const asked = this.renewalsAsked;
    const renewing = this.renewalAsked;
    if (renewing) {
      this.nextIncarnation();
      beforeNewValue();
    }
    const previous = await this.redis.set(key, this.livenessValue(), 'PX', LEASE_MS, 'XX', 'GET');
    if (renewing) this.incarnationSinceMs = monotonicMs();
    const lapsed = previous === null && this.established;
    // The thread breaks the chain as soon as this reply shows an established key gone (slot 2
    // set to -1), before it writes the new value: no run proven earlier starts while that write
    // is on its way (LeaseKeeper.heldSince is Infinity), whenever the main thread hears 'lapsed'.
    if (lapsed) this.heldSinceMs = Infinity;
    if (previous === null) {
      this.nextIncarnation();
      beforeNewValue();
      await this.redis.set(key, this.livenessValue(), 'PX', LEASE_MS);
      this.incarnationSinceMs = monotonicMs();
    }
    this.beating = false;
    if (renewing) this.renewalsDone = asked;
    // The heartbeat thread starts a new unbroken stretch at the reply of a beat that found the
    // key gone, or that wrote a renewal (a new chain).
    if (lapsed || renewing || !this.established) this.heldSinceMs = monotonicMs();
    this.established = true;
    if (lapsed) this.onLapse();
    this.believesLease = true;
    return { lapsed };
  }

  /** The next incarnation, its start unknown (Infinity) until its write's reply. */
  private nextIncarnation(): void {
    this.incarnationSinceMs = Infinity;
    this.incarnationNumber++;
  }

  /**
   * LeaseKeeper's expiry timer: no beat confirmed for too long. ConsumerHost.onLeaseLapse aborts
   * every run in flight ('unconfirmed') and, when one of them is keyed, asks a new liveness value
   * (renewIncarnation): their claims recorded the current one.
   */
  noticeLapse(): void {
    this.believesLease = false;
    if (this.onLapse() && !this.renewalAsked) this.renewalsAsked++;
  }

  /**
   * ConsumerHost.onLeaseLapse aborts every delivery in flight. Only the ones not started are
   * aborted here: a started handler's abort only arms a real-time grace timer, which would
   * make schedules depend on wall time; the explorer ends handlers explicitly instead. Says
   * whether a keyed delivery was aborted (its abort's first signal).
   */
  private onLapse(): boolean {
    const reason = new LeaseLostError('explorer: lease lapsed');
    // Every delivery the library would abort now: those not started, and started ones told for the first time.
    const told = this.ctx.inFlight.matching((d) => !d.isAborted && !this.toldOfLapse.has(d));
    told.forEach((d) => this.toldOfLapse.add(d));
    this.ctx.inFlight.abort(reason, (d) => !this.started.has(d));
    return told.some((d) => d.message.key !== undefined);
  }

  /** Sweeper.sweep runs only while the lease is confirmed. */
  maySweep(): boolean {
    return this.believesLease;
  }

  /** reclaim.lua with the sweeper's argument layout; candidates are chosen by the explorer. */
  async reclaim(candidates: { entryId: string; owner: string }[]): Promise<[RawEntry[], number, number]> {
    const sentAt = monotonicMs();
    const { claimed, poison, dropped } = await reclaimScript(this.keys.queueKeys, {
      group: GROUP,
      consumer: this.consumer,
      maxDeliveries: CONFIG.maxDeliveries,
      candidates,
    }).run(this.redis);
    this.ctx.slots.reserve(claimed.length);
    this.sentAt.set(claimed, sentAt);
    // Sweeper.deadLetterPoison: past the delivery limit, through dead-letter.lua.
    let dead = 0;
    for (const [id, fields, deliveries] of poison) {
      if (await this.deadLetterer.deadLetter(id, fields, `delivered ${deliveries} times without settling`)) dead += 1;
    }
    return [claimed, dead, dropped];
  }

  /**
   * Sweeper.endStrandedCancels, which the sweep runs under its lock after the reclaim: the runs a
   * cancel left to a live owner's settle after a purge, ended once that owner's lease lapsed.
   */
  endStrandedCancels(): Promise<number> {
    return endStrandedCancels(this.redis, this.keys.queueKeys, { group: GROUP, stateTtlMs: CONFIG.resultTtlMs });
  }

  /** recover.lua with the sweeper's layout: own pending entries this process does not hold. */
  async recover(entryIds: string[]): Promise<RawEntry[]> {
    const sentAt = monotonicMs();
    const entries = await recoverScript(this.keys.queueKeys, { group: GROUP, consumer: this.consumer, entryIds }).run(
      this.redis,
    );
    this.ctx.slots.reserve(entries.length);
    this.sentAt.set(entries, sentAt);
    if (entries.length > 0) this.ctx.inFlight.recoveredAt = monotonicMs(); // as Sweeper.recover
    return entries;
  }
}

function taskOptions(periodic: boolean): ResolvedTaskOptions {
  return {
    queue: 'explore',
    maxAttempts: MAX_ATTEMPTS,
    backoff: { type: 'fixed', delayMs: 1, maxDelayMs: 1, jitter: false },
    timeoutMs: undefined,
    resultTtlMs: TTL_MS,
    schedule: periodic ? { every: 1 } : undefined,
  };
}

/** Reply codes, for the trace of raw replies: what each script's numbers mean (from its wrapper). */
export const REPLY_MEANING: Record<string, Record<string, string>> = {
  complete: COMPLETE_CODES,
  fail: FAIL_CODES,
  claim: CLAIM_CODES,
  'dead-letter': DEAD_LETTER_CODES,
  cancel: CANCEL_CODES,
  layout: LAYOUT_CODES,
  'remove-task': REMOVE_TASK_CODES,
};

/** The script name of a raw EVALSHA, from its sha (for the trace). */
export function scriptShas(): Map<string, string> {
  return new Map(SCRIPT_NAMES.map((name) => [createHash('sha1').update(loadLuaSource(name)).digest('hex'), name]));
}
