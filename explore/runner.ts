import Redis from 'ioredis';
import { drain } from './drain';
import { partitionLimits } from './flow-steps';
import { progress, STEP_INVARIANTS, type Violation } from './invariants';
import { CountChange } from './count-change';
import {
  createGroup,
  ExploreKeys,
  layoutStep,
  PERIODIC_KEY,
  prepareConnection,
  recordLimits,
  SimWorker,
  SILENT,
  TASK,
  type DeliveryInfo,
  type WorkerFlow,
} from './protocol-adapter';
import { takeSnapshot, unsettledEntry, type Snapshot } from './snapshot';
import { windowsOf } from './rate-snapshot';
import { applyStep, quiesce, type Step } from './steps';
import { strandedProbes } from './stranded-invariants';
import { formatRecord } from './trace';
import { Wire } from './wire';
import { PAUSED_QUEUE, World, type Run, type WorkerModel } from './world';
import { PauseWatch } from '../lib/consumer/pause-watch';
import { MAX_WORKERS, partitionCount, WORLDS, type WorldShape } from './worlds';

/** The connections every schedule reuses: a client, one per worker, and an observer. */
export interface Env {
  readonly client: Redis;
  readonly clientWire: Wire;
  readonly observer: Redis;
  readonly workers: { redis: Redis; wire: Wire }[];
  readonly prefix: string;
  schedules: number;
}

export async function openEnv(url: string): Promise<Env> {
  const connect = async () => {
    const redis = new Redis(url, { maxRetriesPerRequest: 1 });
    await prepareConnection(redis);
    return redis;
  };
  const client = await connect();
  const workers = [];
  for (let i = 0; i < MAX_WORKERS; i++) {
    const redis = await connect();
    workers.push({ redis, wire: new Wire(redis) });
  }
  return {
    client,
    clientWire: new Wire(client),
    observer: await connect(),
    workers,
    prefix: `sq-explore-${process.pid}`,
    schedules: 0,
  };
}

export async function closeEnv(env: Env): Promise<void> {
  for (const r of [env.client, env.observer, ...env.workers.map((w) => w.redis)]) r.disconnect();
}

/** One executed step, as the trace prints it. */
export interface TraceLine {
  readonly step: Step;
  readonly note: string;
  readonly applied: boolean;
  readonly replies: string[];
  readonly drain?: boolean;
}

export interface RunResult {
  readonly world: string;
  readonly steps: Step[];
  readonly lines: TraceLine[];
  readonly violations: Violation[];
  /** Violations of known open findings (`ignore`) seen and let pass, by signature. */
  readonly knownOpen: Set<string>;
  /** A partitioned world: whether the operator's count change was committed. */
  readonly countChanged?: boolean;
}

/** A violation's signature: its invariant and tag (`noTwoLegitRuns[key]`). */
export const signature = (v: Violation): string => `${v.invariant}[${v.tag}]`;

/** Picks the next step from the world, or ends the schedule (undefined). */
export type NextStep = (world: World, index: number) => Step | undefined;

/**
 * Runs one schedule on a fresh queue: its steps, the invariants after each, then the drain and
 * the progress check. Stops at the first step that breaks an invariant. Violations whose
 * signature is in `ignore` (known open findings, explore/traces/open-*.json) are noted and let
 * pass, so a search goes on looking for others.
 */
export async function runSchedule(
  env: Env,
  next: NextStep,
  shape: WorldShape = WORLDS.classic,
  ignore: ReadonlySet<string> = new Set(),
): Promise<RunResult> {
  const queue = `q${++env.schedules}`;
  const parts = Array.from({ length: partitionCount(shape) }, (_, p) => new ExploreKeys(env.prefix, queue, p));
  for (const keys of parts) await createGroup(env.client, keys);
  const change = shape.countChange;
  // The queue as a bootstrap with the old count (or its only one) left it: its partitions record that count.
  const initial = change?.from ?? shape.partitions ?? 1;
  if (initial > 1) {
    for (let p = 0; p < initial; p++) {
      await layoutStep(env.client, parts[p], 'freeze', 1, initial);
      await layoutStep(env.client, parts[p], 'commit', 1, initial);
    }
    env.clientWire.take();
  }
  const world = new World(
    parts,
    env.client,
    env.clientWire,
    [],
    change ? new CountChange(change.from, change.to) : undefined,
    shape,
  );
  env.workers.slice(0, parts.length * shape.workersPerPartition).forEach(({ redis, wire }, index) => {
    wire.release();
    wire.take();
    const partition = Math.floor(index / shape.workersPerPartition);
    const model: WorkerModel = {
      index,
      partition,
      sim: undefined as unknown as SimWorker,
      wire,
      alive: true,
      epoch: 0,
      keyPresent: false,
      inbox: [],
      admitted: [],
      running: new Map(),
      outcomes: [],
      pendingSettles: 0,
      // Polled only by its steps: the interval is never reached in a schedule.
      pause: new PauseWatch(redis, new Map([[PAUSED_QUEUE, parts.map((k) => k.queueKeys)]]), 2 ** 30, SILENT),
      notices: [],
      learned: 0,
      polls: [],
      pauses: 0,
    };
    model.pause.gate(PAUSED_QUEUE).onChange((paused) => paused && model.pauses++);
    (model as { sim: SimWorker }).sim = new SimWorker(
      redis,
      parts[partition],
      `w${index}`,
      (info) => started(world, model, info),
      workerFlow(shape, partition),
    );
    world.workers.push(model);
  });
  // A worker with the task's definition records its limits in every partition of its count
  // before its first read (record-limits.lua), here before any step.
  for (const [p, keys] of parts.entries()) {
    const flow = workerFlow(shape, p);
    if (flow) await recordLimits(env.client, keys, flow.limits, flow.count);
  }
  env.clientWire.take();
  // A worker starts consuming after its first beat (LeaseKeeper.start).
  for (const w of world.workers) {
    await w.sim.heartbeat();
    w.keyPresent = true;
  }
  world.snapshots = await snapshot(env, world);
  const steps: Step[] = [];
  const lines: TraceLine[] = [];
  const knownOpen = new Set<string>();
  const unknown = (violations: Violation[]) => {
    for (const v of violations) if (ignore.has(signature(v))) knownOpen.add(signature(v));
    return violations.filter((v) => !ignore.has(signature(v)));
  };
  const result = (violations: Violation[]): RunResult => ({
    world: shape.name,
    steps,
    lines,
    violations,
    knownOpen,
    countChanged: change && world.snapshots[0].layout === String(change.to),
  });
  try {
    for (let i = 0; ; i++) {
      const step = next(world, i);
      if (!step) break;
      steps.push(step);
      const violations = unknown(await execute(env, world, step, lines, false));
      if (violations.length > 0) return result(violations);
    }
    const exec = async (step: Step) => unknown(await execute(env, world, step, lines, true));
    const violations = await drain(world, exec);
    if (violations.length > 0) return result(violations);
    const stuck = unknown(progress(world, world.snapshots));
    if (stuck.length > 0) return result(stuck);
    // A run stranded by a purge must not hold its key now that nothing runs (strandedRunTakenOver).
    for (const probe of strandedProbes(world)) {
      const held = await exec(probe);
      if (held.length > 0) return result(held);
    }
    return result([]);
  } finally {
    for (const w of world.workers) w.wire.release();
    await quiesce(Promise.resolve());
    for (const keys of parts) await cleanup(env, keys);
  }
}

async function execute(env: Env, world: World, step: Step, lines: TraceLine[], drained: boolean): Promise<Violation[]> {
  const result = await applyStep(world, step);
  world.previous = world.snapshots;
  world.snapshots = await snapshot(env, world);
  const records = [env.clientWire, ...world.workers.map((w) => w.wire)];
  const replies = records.flatMap((r) => r.take()).map((record) => formatRecord(world, record));
  lines.push({ step, note: result.note, applied: result.applied, replies, drain: drained || undefined });
  return STEP_INVARIANTS.flatMap((check) => check(world, world.snapshots, world.previous, result));
}

/**
 * What a worker of a partitioned flow world knows of the task (its limits, as its partition's
 * share under its count: partitionLimits) and the count it maps: the one it was deployed with,
 * the old count for the partitions of the old layout, the new one for a partition the change
 * adds; a queue's only count when it stays. Undefined elsewhere: workers admit entries as read.
 */
function workerFlow(shape: WorldShape, partition: number): WorkerFlow | undefined {
  const { flow, countChange } = shape;
  if (!flow || (!countChange && !shape.partitions)) return undefined;
  const count = countChange
    ? partition < countChange.from
      ? countChange.from
      : countChange.to
    : (shape.partitions ?? 1);
  return { limits: partitionLimits(flow, partition, count), count };
}

/** The unsettled rated entries of `snap`'s stream, each with the rate windows it counts in. */
function liveRated(world: World, snap: Snapshot): Map<string, string[]> {
  const live = new Map<string, string[]>();
  for (const [entryId, c] of snap.stream)
    if (c.rated && unsettledEntry(snap, entryId))
      live.set(
        entryId,
        windowsOf(world.shape.flow, TASK, c.flow ?? '').map((w) => w.window),
      );
  return live;
}

/** Reads Redis (every partition), registers tasks seen for the first time, and records evidence of settlement. */
async function snapshot(env: Env, world: World): Promise<Snapshot[]> {
  const taskIds = [...world.tasks.keys()];
  const snaps: Snapshot[] = [];
  for (const keys of world.parts) {
    const consumers = world.workers.filter((w) => w.partition === keys.partition).map((w) => w.sim.consumer);
    const stateKeys = [...world.shape.keys, PERIODIC_KEY];
    snaps.push(await takeSnapshot(env.observer, keys, stateKeys, taskIds, consumers, world.shape.flow !== undefined));
  }
  for (const snap of snaps)
    for (const c of [...snap.stream.values(), ...snap.delayed.values()]) if (c.id !== '?') world.task(c.id, c.key);
  for (const [p, snap] of snaps.entries()) if (snap.flow) world.rates.note(snap.flow.rate, liveRated(world, snap), p);
  for (const t of world.tasks.values()) {
    if (t.settled) continue;
    if (snaps.some((s) => s.results.has(t.id))) t.settled = 'completed';
    else if (snaps.some((s) => s.deadLettered.has(t.id))) t.settled = 'dead-lettered';
  }
  for (const w of world.workers) {
    for (const r of w.sim.reports.splice(0)) {
      if (r.taskId && (r.type === 'completed' || r.type === 'dead-lettered'))
        world.task(r.taskId, undefined).settled ??= r.type;
    }
  }
  return snaps;
}

/** The handler hook: the library started a run; it ends at the step `end`. */
function started(world: World, w: WorkerModel, info: DeliveryInfo): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const run: Run = {
      worker: w.index,
      info,
      epoch: w.epoch,
      incarnation: w.sim.incarnation,
      legit: w.keyPresent,
      finish: (ok) => (ok ? resolve(info.taskId) : reject(new Error('handler failed'))),
    };
    w.running.set(info.entryId, run);
    world.runs.push(run);
  });
}

async function cleanup(env: Env, keys: ExploreKeys): Promise<void> {
  let cursor = '0';
  do {
    const [nextCursor, found] = await env.observer.scan(cursor, 'MATCH', `${keys.tag}*`, 'COUNT', 1000);
    cursor = nextCursor;
    if (found.length > 0) await env.observer.del(...found);
  } while (cursor !== '0');
}
