import {
  cancel,
  describe,
  enqueue,
  highestSequence,
  hostileFields,
  isAbandoned,
  layoutStep,
  partitionOf,
  PERIODIC_KEY,
  promote,
  type Delivery,
  type DeliveryInfo,
  type EnqueueSpec,
  type Outcome,
  type RawEntry,
} from './protocol-adapter';
import { dropGoneWaitingStates, RunningKeyState } from '../lib/partitions/gone-waiting-states';
import { enqueueFlowStep, removeStep } from './flow-steps';
import { purgeStep, type PurgeKind } from './purge-steps';
import { strandedAtCancel } from './stranded-invariants';
import { ledgerEntry } from './rate-ledger';
import { elapseStep } from './rate-steps';
import { noticeStep, pauseStep, pollStep } from './pause-steps';
import { Wire } from './wire';
import type { World, WorkerModel } from './world';

/**
 * A client process of a partitioned world: `stale` maps keys with the count from before the
 * change (the default: every process had it), `fresh` with the new one.
 */
export type ClientProcess = 'stale' | 'fresh';

/**
 * One protocol step of a schedule. Tasks are named by alias, so a trace replays exactly. In a
 * partitioned world, `by` says which client process writes, and `p` which partition an unkeyed
 * task goes to (its turn of the round-robin, among the partitions of that process's count).
 */
export type Step =
  | {
      op: 'enqueue';
      kind: EnqueueSpec['kind'];
      id: string;
      key?: string;
      replace?: true;
      resend?: true;
      by?: ClientProcess;
      p?: number;
      /** After the drain: does a stranded run still hold its key? (explore/stranded-invariants.ts) */
      probe?: true;
    }
  | {
      op: 'enqueue-flow';
      id: string;
      group: string;
      priority?: number;
      delayed?: true;
      big?: true;
      task?: 'other';
      /** The producer's @Task defines other slot limits (a rolling deploy): its enqueue records them. */
      retuned?: { global: number; group: number };
      /** A partitioned world: the process whose count maps the group to its partition. */
      by?: ClientProcess;
      /** An ungrouped task without a group limit: the partition of the producer's turn. */
      p?: number;
    }
  | { op: 'remove'; task: string }
  | { op: 'purge'; what: PurgeKind; task?: string; p?: number }
  | { op: 'cancel'; key: string; by?: ClientProcess }
  | { op: 'layout' }
  | { op: 'hostile'; kind: 'wide' | 'malformed'; id: string }
  | { op: 'read'; w: number }
  | { op: 'deliver'; w: number }
  | { op: 'start'; w: number; task: string }
  | { op: 'end'; w: number; task: string; ok: boolean }
  | { op: 'settle'; w: number; reply?: 'held' | 'resent' }
  | { op: 'release'; w: number }
  | { op: 'heartbeat'; w: number; reply?: 'held' }
  | { op: 'lapse'; w: number }
  | { op: 'notice'; w: number }
  | { op: 'reclaim'; w: number; judge: 'dead' | 'stale' }
  | { op: 'recover'; w: number }
  | { op: 'promote' }
  | { op: 'expire'; target: string }
  | { op: 'elapse' }
  | { op: 'pause'; paused: boolean }
  | { op: 'hear'; w: number; lost?: true }
  | { op: 'poll'; w: number; reply?: 'held' }
  | { op: 'crash'; w: number };

/** A settle the stale-write invariant judges: was the run stale when its script ran? */
export interface SettleJudgement {
  readonly worker: number;
  readonly info: DeliveryInfo;
  readonly stale: string | undefined;
}

export interface StepResult {
  /** False when the step did not apply to the world as it is (a no-op, e.g. after shrinking). */
  readonly applied: boolean;
  readonly note: string;
  readonly settles?: SettleJudgement[];
  /** A write the scripts refused (PartitionLayoutError): it must have changed nothing. */
  readonly refused?: true;
  /** The count change's freeze of this partition was done by the step (layout.lua froze it). */
  readonly froze?: number;
  /** A cancel that found nothing live to cancel, in the partition its process mapped the key to. */
  readonly nothingLive?: { readonly key: string; readonly partition: number };
  /** A keyed enqueue's answer (not for a periodic key): created a run, or returned the live one. */
  readonly keyed?: KeyedAnswer;
}

export interface KeyedAnswer {
  readonly key: string;
  readonly partition: number;
  readonly mode: 'add' | 'replace';
  readonly created: boolean;
  readonly probe: boolean;
}

const NOOP: StepResult = { applied: false, note: 'n/a' };
const READ_COUNT = 10;

/** Whether a delivery's task was already superseded when its head check passed. */
const supersededAtClaim = new WeakMap<Delivery, boolean>();
/** The worker's pause count (gate shuts) when each delivery was admitted. */
const pausesAtAdmission = new WeakMap<Delivery, number>();

/**
 * Waits until `p` settles, or until no command is in flight to Redis for a few turns of the
 * event loop (the caller waits for a held reply): a step is done when Redis has done its part.
 */
export async function quiesce<T>(p: Promise<T>): Promise<{ done: boolean; value?: T; error?: unknown }> {
  let state: { done: boolean; value?: T; error?: unknown } = { done: false };
  p.then(
    (value) => (state = { done: true, value }),
    (error: unknown) => (state = { done: true, error }),
  );
  for (let idle = 0; idle < 3;) {
    await new Promise((resolve) => setImmediate(resolve));
    if (state.done) return state;
    idle = Wire.idle() ? idle + 1 : 0;
  }
  return state;
}

/** What a worker whose pause gate is shut does not do (PauseGate): read, sweep or start a run. */
const GATED = new Set<Step['op']>(['read', 'start', 'reclaim', 'recover']);

export async function applyStep(world: World, step: Step): Promise<StepResult> {
  const w = 'w' in step ? world.workers[step.w] : undefined;
  if (w && !w.alive) return NOOP;
  if (w && GATED.has(step.op) && world.paused(w)) return { applied: false, note: 'paused' };
  switch (step.op) {
    case 'pause':
      return pauseStep(world, step);
    case 'hear':
      return noticeStep(w!, step.lost === true);
    case 'poll':
      return pollStep(world, w!, step.reply === 'held');
    case 'enqueue':
      return enqueueStep(world, step);
    case 'enqueue-flow':
      return enqueueFlowStep(world, step);
    case 'remove':
      return removeStep(world, step.task);
    case 'purge':
      return purgeStep(world, step);
    case 'cancel':
      return cancelStep(world, step.key, step.by);
    case 'layout':
      return countChangeStep(world);
    case 'hostile': {
      await world.client.xadd(world.keys.stream, '*', ...hostileFields(step.id, step.kind));
      world.task(step.id, undefined).acknowledged = true;
      return { applied: true, note: 'XADDed' };
    }
    case 'read': {
      const entries = await w!.sim.read(READ_COUNT);
      if (entries.length === 0) return { applied: false, note: 'nothing new' };
      w!.inbox.push(entries);
      return { applied: true, note: `reply held: ${entries.map(([, f]) => aliasOf(world, f)).join(' ')}` };
    }
    case 'deliver': {
      const entries = w!.inbox.shift();
      if (!entries) return NOOP;
      return { applied: true, note: await admit(world, w!, entries) };
    }
    case 'start':
      return startStep(world, w!, step.task);
    case 'end':
      return endStep(world, w!, step.task, step.ok);
    case 'settle':
      return settleStep(world, w!, step.reply);
    case 'release': {
      if (w!.wire.heldCount === 0) return NOOP;
      w!.wire.release();
      await quiesce(Promise.resolve());
      return { applied: true, note: 'held replies delivered' };
    }
    case 'heartbeat': {
      if (w!.sim.beating) return NOOP;
      // `held`: the write of a new value (a key found gone, a renewal) executes, and its reply
      // reaches the thread only at the step `release`: claims may run under the value meanwhile.
      const hold = () => (w!.wire.holding = step.reply === 'held');
      try {
        const { done, value } = await quiesce(w!.sim.heartbeat(hold));
        w!.keyPresent = true;
        if (!done) return { applied: true, note: 'new value written; reply held' };
        return { applied: true, note: value?.lapsed ? 'key was gone: lapse reported, in-flight aborted' : 'renewed' };
      } finally {
        w!.wire.holding = false;
      }
    }
    case 'lapse': {
      const gone = await world.client.del(w!.sim.keys.alive(w!.sim.consumer));
      if (gone === 0) return NOOP;
      w!.epoch++;
      w!.keyPresent = false;
      return { applied: true, note: 'liveness key expired' };
    }
    case 'notice': {
      if (!w!.sim.believesLease) return NOOP;
      w!.sim.noticeLapse();
      return { applied: true, note: 'local timer: lease unconfirmed' };
    }
    case 'reclaim':
      return reclaimStep(world, w!, step.judge);
    case 'recover':
      return recoverStep(world, w!);
    case 'promote':
      return promoteStep(world);
    case 'expire':
      return expireStep(world, step.target);
    case 'elapse':
      return elapseStep(world);
    case 'crash': {
      // Another consumer of its partition must live on, or its tasks would wait forever.
      if (world.live().filter((x) => x.partition === w!.partition).length < 2) return NOOP;
      w!.alive = false;
      w!.epoch++;
      await world.client.del(w!.sim.keys.alive(w!.sim.consumer));
      for (let i = world.runs.length - 1; i >= 0; i--) if (world.runs[i].worker === w!.index) world.runs.splice(i, 1);
      return { applied: true, note: 'process died' };
    }
  }
}

async function enqueueStep(world: World, step: Extract<Step, { op: 'enqueue' }>): Promise<StepResult> {
  const spec: EnqueueSpec = { id: step.id, kind: step.kind, key: step.key, mode: step.replace ? 'replace' : 'add' };
  const key = step.kind === 'every' ? PERIODIC_KEY : step.key;
  const count = world.countOf(step.by);
  const partition = key !== undefined ? partitionOf(key, count) : (step.p ?? 0);
  if (partition >= count) return NOOP;
  world.clientWire.resending = step.resend === true;
  try {
    const reply = await enqueue(world.client, world.parts[partition], spec, count);
    const where = world.where(partition);
    if ('refused' in reply) return { applied: true, note: `refused${where}: ${reply.refused}`, refused: true };
    const keyed: KeyedAnswer | undefined =
      key !== undefined && step.kind !== 'every'
        ? { key, partition, mode: spec.mode, created: reply.created, probe: step.probe === true }
        : undefined;
    // An id the key state names answers as it did (a resend): its entry purged, nothing written.
    if (reply.created && reply.entryId !== undefined && world.purged.has(reply.entryId))
      return { applied: true, note: `${step.id} answered as before, its entry purged: nothing written${where}` };
    // An existing live run returned (dedupe): no new task.
    if (!reply.created)
      return { applied: true, note: `existing ${world.alias(reply.id)} (gen ${reply.generation})${where}`, keyed };
    if (key !== undefined) world.bumpKey(key);
    world.enqueued(step.id, key).periodic = step.kind === 'every';
    return { applied: true, note: `${step.id} gen ${reply.generation}${where}`, keyed };
  } finally {
    world.clientWire.resending = false;
  }
}

/** QueueClient.cancel from a client process: on the partition its count maps the key to. */
async function cancelStep(world: World, key: string, by: ClientProcess | undefined): Promise<StepResult> {
  const count = world.countOf(by);
  const held = strandedAtCancel(world, key, partitionOf(key, count));
  const done = await cancel(world.client, world.keys, key, count);
  if ('refused' in done)
    return { applied: true, note: `refused${world.where(partitionOf(key, count))}: ${done.refused}`, refused: true };
  const { partition } = done;
  const where = world.where(partition) + (done.retried ? ' (retried under the stored count)' : '');
  if (done.cancelled) world.bumpKey(key);
  if (done.cancelled && held !== undefined) world.cancelledHeld.add(held);
  if (done.cancelled) return { applied: true, note: `cancelled${where}` };
  return { applied: true, note: `nothing live${where}`, nothingLive: { key, partition } };
}

/** The operator's next layout.lua call of the count change (PartitionLayouts.switchCount). */
async function countChangeStep(world: World): Promise<StepResult> {
  const change = world.countChange;
  const call = change?.next();
  if (!change || !call) return NOOP;
  // Once all are frozen, the key states waiting for a deleted message are dropped, then the
  // sequences are read for the commits' floor (switchCount), in the first commit's step.
  let cleaned = '';
  if (call.step === 'commit' && change.sequenceFloor === undefined) {
    const parts = world.parts.slice(0, change.partitions).map((k) => k.queueKeys);
    let dropped: number;
    try {
      dropped = await dropGoneWaitingStates(world.client, parts, change.from, change.to);
    } catch (error) {
      // switchCount's answer: the attempt thaws what it froze (PartitionLayoutError), no commit.
      if (!(error instanceof RunningKeyState)) throw error;
      change.refuseRunning();
      return { applied: true, note: `clean refused: ${error.message}; this attempt thaws` };
    }
    if (dropped > 0) cleaned = `clean: ${dropped} key state(s) dropped; `;
    change.sequenceFloor = await highestSequence(world.client, world.parts.slice(0, change.partitions));
  }
  const { outcome, record } = await layoutStep(
    world.client,
    world.parts[call.partition],
    call.step,
    change.from,
    change.to,
    change.sequenceFloor,
  );
  change.record(outcome, record);
  const note = `${cleaned}${call.step} p${call.partition}: ${outcome} (record ${record})`;
  return { applied: true, note, ...(call.step === 'freeze' && outcome === 'done' ? { froze: call.partition } : {}) };
}

/** Intake.admit on entries handed to the worker; the admitted wait for the step `start`. */
async function admit(world: World, w: WorkerModel, entries: RawEntry[]): Promise<string> {
  const deliveries = await w.sim.admit(entries);
  for (const d of deliveries) {
    const info = describe(d);
    world.task(info.taskId, info.key);
    // claim.lua marked a keyed run running under the lease as it is now (field rliv).
    if (info.key !== undefined)
      world.claims.set(info.entryId, {
        worker: w.index,
        epoch: w.epoch,
        incarnation: w.sim.incarnation,
        keyPresent: w.keyPresent,
      });
    supersededAtClaim.set(d, world.superseded(info.taskId, info.key));
    pausesAtAdmission.set(d, w.pauses);
    w.admitted.push(d);
  }
  const admitted = new Set(deliveries.map((d) => describe(d).entryId));
  const dropped = entries.filter(([id]) => !admitted.has(id)).map(([, f]) => aliasOf(world, f));
  const named = (d: Delivery) =>
    `${world.alias(describe(d).taskId)}${w.sim.waitsForToken(d) ? ' (waits for a token)' : ''}`;
  return `admitted [${deliveries.map(named).join(' ')}]${dropped.length ? ` skipped [${dropped.join(' ')}]` : ''}`;
}

async function startStep(world: World, w: WorkerModel, alias: string): Promise<StepResult> {
  const i = w.admitted.findIndex((d) => world.alias(describe(d).taskId) === alias);
  if (i < 0) return NOOP;
  const [delivery] = w.admitted.splice(i, 1);
  const info = describe(delivery);
  // A rated run counted before a pause held it is claimed again first (runWhenFree): its start
  // moves to now, or it needs a token once its first record left the window.
  const heldByPause = delivery.startedAt !== undefined && pausesAtAdmission.get(delivery) !== w.pauses;
  if (heldByPause) delivery.rateWaitMs ??= 0;
  // Held for a rate token (claim.lua said wait): its timer fired, it is claimed again first.
  if (w.sim.waitsForToken(delivery)) {
    await w.sim.claimAgain(delivery);
    if (w.sim.waitsForToken(delivery)) {
      w.admitted.splice(i, 0, delivery);
      return { applied: true, note: 'claimed again: still waits for a rate token' };
    }
  }
  const outcome = w.sim.run(delivery);
  // onStart (wired in runner.ts) records the run synchronously when the library calls the handler.
  const started = w.running.has(info.entryId);
  if (started) {
    const run = w.running.get(info.entryId)!;
    if (info.rated)
      world.rates.ranRated(
        ledgerEntry(info.entryId, w.partition),
        info.taskId,
        world.flowGroups.get(info.taskId) ?? '',
      );
    if (supersededAtClaim.get(delivery))
      world.startViolations.push(
        `${world.alias(info.taskId)} on w${w.index} was superseded when its head check passed`,
      );
    const owner = world.snapshotOf(w).pending.get(info.entryId)?.owner;
    // An entry an operator deleted after the worker took it runs from memory (nothing checks it).
    if (run.legit && owner !== w.sim.consumer && !world.purged.has(info.entryId))
      world.startViolations.push(
        `${world.alias(info.taskId)} started on w${w.index} (alive) while its entry is pending under ${owner ?? 'nobody'}`,
      );
  }
  outcome.then(
    (o: Outcome) => {
      if (isAbandoned(o)) w.sim.forget(o.delivery);
      else w.outcomes.push(o);
    },
    () => undefined,
  );
  await quiesce(outcome);
  const again = heldByPause ? ', claimed again after a pause' : '';
  return { applied: true, note: started ? `handler started${again}` : 'not started (lease not held): left pending' };
}

async function endStep(world: World, w: WorkerModel, alias: string, ok: boolean): Promise<StepResult> {
  const run = [...w.running.values()].find((r) => world.alias(r.info.taskId) === alias);
  if (!run) return NOOP;
  w.running.delete(run.info.entryId);
  const at = world.runs.indexOf(run);
  if (at >= 0) world.runs.splice(at, 1);
  run.finish(ok);
  await quiesce(Promise.resolve());
  return { applied: true, note: ok ? 'handler returned' : 'handler threw' };
}

async function settleStep(world: World, w: WorkerModel, reply: 'held' | 'resent' | undefined): Promise<StepResult> {
  if (w.outcomes.length === 0) return NOOP;
  const batch = w.outcomes;
  w.outcomes = [];
  const snap = world.snapshotOf(w);
  const settles = batch.map((o): SettleJudgement => {
    const info = describe(o.delivery);
    const owner = snap.pending.get(info.entryId)?.owner;
    const stale =
      owner !== w.sim.consumer && !strandedHere(world, w, info)
        ? `not owned (owner ${owner ?? 'none'})`
        : world.superseded(info.taskId, info.key)
          ? 'superseded'
          : undefined;
    return { worker: w.index, info, stale };
  });
  w.wire.holding = reply === 'held';
  w.wire.resending = reply === 'resent';
  const settled = w.sim.settle(batch).then((unsettled) => {
    w.outcomes.push(...unsettled);
    return unsettled;
  });
  try {
    const { done, value, error } = await quiesce(settled);
    if (!done) return { applied: true, note: 'executed; reply held', settles };
    if (error) return { applied: true, note: `error ${String(error)}`, settles };
    return { applied: true, note: value!.length ? `${value!.length} unsettled (error), to retry` : 'settled', settles };
  } finally {
    w.wire.holding = false;
    w.wire.resending = false;
  }
}

/**
 * A keyed run whose entry an operator deleted, still recorded as running here (complete.lua and
 * fail.lua's recordsRunHere): only its owner can end it, and its settle may (unless superseded).
 */
function strandedHere(world: World, w: WorkerModel, info: DeliveryInfo): boolean {
  if (info.key === undefined || !world.purged.has(info.entryId)) return false;
  const fields = world.snapshotOf(w).keyStates.get(info.key)?.fields;
  return fields?.rmid === info.entryId && fields.rown === w.sim.consumer;
}

async function reclaimStep(world: World, w: WorkerModel, judge: 'dead' | 'stale'): Promise<StepResult> {
  if (!w.sim.maySweep()) return NOOP;
  const snap = world.snapshotOf(w);
  const candidates = [...snap.pending.values()]
    .filter((r) => r.owner !== w.sim.consumer && (judge === 'stale' || !snap.alive.has(r.owner)))
    .map((r) => ({ entryId: r.entryId, owner: r.owner }));
  // The sweep's judgement of the stranded cancels follows the reclaim (Sweeper.sweep), in Redis.
  const judging = snap.strandedCancels.size > 0;
  if (candidates.length === 0 && !judging) return NOOP;
  let note = '';
  try {
    if (candidates.length > 0) {
      const [claimed, dead, dropped] = await w.sim.reclaim(candidates);
      note = `claimed ${claimed.length}, poison ${dead}, dropped ${dropped}; ${await admit(world, w, claimed)}`;
    }
  } catch (error) {
    return { applied: true, note: `reclaim.lua error: ${(error as Error).message.slice(0, 80)}` };
  }
  if (!judging) return { applied: true, note };
  try {
    const ended = await w.sim.endStrandedCancels();
    return { applied: true, note: `${note ? `${note}; ` : ''}stranded cancels judged, ${ended} ended` };
  } catch (error) {
    return { applied: true, note: `end-stranded-cancel.lua error: ${(error as Error).message.slice(0, 80)}` };
  }
}

async function recoverStep(world: World, w: WorkerModel): Promise<StepResult> {
  if (!w.sim.maySweep()) return NOOP;
  const lost = [...world.snapshotOf(w).pending.values()]
    .filter((r) => r.owner === w.sim.consumer && !w.sim.holds(r.entryId))
    .map((r) => r.entryId);
  // Entries whose read reply is still held in transit are lost to the worker's memory too.
  if (lost.length === 0) return NOOP;
  const entries = await w.sim.recover(lost);
  return { applied: true, note: `recovered ${entries.length}; ${await admit(world, w, entries)}` };
}

/**
 * Time passes until every delayed member is due (scores set to 0), then promote.lua runs on each
 * partition that has one, or a due rate wake to serve (wakes fall due only by `elapse`).
 */
async function promoteStep(world: World): Promise<StepResult> {
  let moved = 0;
  let any = false;
  for (const keys of world.parts) {
    const members = await world.client.zrange(keys.delayed, 0, -1);
    if (members.length === 0 && !(await wakeDue(world, keys))) continue;
    any = true;
    const p = world.client.pipeline();
    for (const m of members) p.zadd(keys.delayed, 'XX', 0, m);
    await p.exec();
    moved += (await promote(world.client, keys))[0];
  }
  return any ? { applied: true, note: `moved ${moved}` } : NOOP;
}

/** A rate limit's wake is due on Redis's clock (a flow world only). */
async function wakeDue(world: World, keys: World['keys']): Promise<boolean> {
  if (!world.shape.flow) return false;
  const [seconds, micros] = await world.client.time();
  const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  return (await world.client.zcount(keys.flow.wake, '-inf', now)) > 0;
}

/** A key with a TTL may vanish at any step: its TTL ran out (in whichever partition holds it). */
async function expireStep(world: World, target: string): Promise<StepResult> {
  const [kind, name] = target.split(':', 2) as ['key' | 'result', string];
  for (const keys of world.parts) {
    const redisKey = kind === 'key' ? keys.keyState(target.slice(4)) : keys.result(world.byAlias(name)?.id ?? name);
    if ((await world.client.pttl(redisKey)) <= 0) continue;
    await world.client.del(redisKey);
    return { applied: true, note: `TTL ran out${world.where(keys.partition)}` };
  }
  return NOOP;
}

function aliasOf(world: World, fields: string[] | null): string {
  if (!fields) return '(deleted)';
  const i = fields.indexOf('id');
  return i >= 0 && i % 2 === 0 ? world.alias(fields[i + 1]) : '(no id)';
}
