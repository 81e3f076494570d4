import Redis from 'ioredis';
import { drain } from './drain';
import { progress, STEP_INVARIANTS, type Violation } from './invariants';
import { createGroup, ExploreKeys, prepareConnection, SimWorker, type DeliveryInfo } from './protocol-adapter';
import { takeSnapshot } from './snapshot';
import { applyStep, quiesce, type Step } from './steps';
import { formatRecord } from './trace';
import { Wire } from './wire';
import { World, type Run, type WorkerModel } from './world';

export const WORKERS = 3;
/** Keys the schedules use; their states are read in every snapshot. */
export const KEYS = ['k1', 'k2'];

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
  for (let i = 0; i < WORKERS; i++) {
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
  readonly steps: Step[];
  readonly lines: TraceLine[];
  readonly violations: Violation[];
}

/** Picks the next step from the world, or ends the schedule (undefined). */
export type NextStep = (world: World, index: number) => Step | undefined;

/**
 * Runs one schedule on a fresh queue: its steps, the invariants after each, then the drain and
 * the progress check. Stops at the first step that breaks an invariant.
 */
export async function runSchedule(env: Env, next: NextStep): Promise<RunResult> {
  const keys = new ExploreKeys(env.prefix, `q${++env.schedules}`);
  await createGroup(env.client, keys);
  const world = new World(keys, env.client, env.clientWire, []);
  env.workers.forEach(({ redis, wire }, index) => {
    wire.release();
    wire.take();
    const model: WorkerModel = {
      index,
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
    };
    (model as { sim: SimWorker }).sim = new SimWorker(redis, keys, `w${index}`, (info) => started(world, model, info));
    world.workers.push(model);
  });
  // A worker starts consuming after its first beat (LeaseKeeper.start).
  for (const w of world.workers) {
    await w.sim.heartbeat();
    w.keyPresent = true;
  }
  world.snapshot = await snapshot(env, world);
  const steps: Step[] = [];
  const lines: TraceLine[] = [];
  let violations: Violation[] = [];
  try {
    for (let i = 0; ; i++) {
      const step = next(world, i);
      if (!step) break;
      steps.push(step);
      violations = await execute(env, world, step, lines, false);
      if (violations.length > 0) return { steps, lines, violations };
    }
    violations = await drain(world, (step) => execute(env, world, step, lines, true));
    if (violations.length === 0) violations = progress(world, world.snapshot);
    return { steps, lines, violations };
  } finally {
    for (const w of world.workers) w.wire.release();
    await quiesce(Promise.resolve());
    await cleanup(env, keys);
  }
}

async function execute(env: Env, world: World, step: Step, lines: TraceLine[], drained: boolean): Promise<Violation[]> {
  const result = await applyStep(world, step);
  world.previous = world.snapshot;
  world.snapshot = await snapshot(env, world);
  const records = [env.clientWire, ...world.workers.map((w) => w.wire)];
  const replies = records.flatMap((r) => r.take()).map((record) => formatRecord(world, record));
  lines.push({ step, note: result.note, applied: result.applied, replies, drain: drained || undefined });
  return STEP_INVARIANTS.flatMap((check) => check(world, world.snapshot!, world.previous, result));
}

/** Reads Redis, registers tasks seen for the first time, and records evidence of settlement. */
async function snapshot(env: Env, world: World) {
  const taskIds = [...world.tasks.keys()];
  const snap = await takeSnapshot(
    env.observer,
    world.keys,
    [...KEYS, 'periodic:tick'],
    taskIds,
    world.workers.map((w) => w.sim.consumer),
  );
  for (const c of [...snap.stream.values(), ...snap.delayed.values()]) if (c.id !== '?') world.task(c.id, c.key);
  for (const t of world.tasks.values()) {
    if (t.settled) continue;
    if (snap.results.has(t.id)) t.settled = 'completed';
    else if (snap.deadLettered.has(t.id)) t.settled = 'dead-lettered';
  }
  for (const w of world.workers) {
    for (const r of w.sim.reports.splice(0)) {
      if (r.taskId && (r.type === 'completed' || r.type === 'dead-lettered'))
        world.task(r.taskId, undefined).settled ??= r.type;
    }
  }
  return snap;
}

/** The handler hook: the library started a run; it ends at the step `end`. */
function started(world: World, w: WorkerModel, info: DeliveryInfo): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const run: Run = {
      worker: w.index,
      info,
      epoch: w.epoch,
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
