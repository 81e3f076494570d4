/**
 * The chaos scenarios. Each opens an Arena, feeds tasks while it does its kind of damage, drains,
 * and turns the ledger into findings. Sizes scale with CHAOS_SCALE; every scenario stops by itself
 * (its feed and chaos are bounded, its drain and the whole scenario have deadlines).
 */
import { analyze, type Findings } from './analysis';
import { analyzeFlow, type FlowFindings, type FlowLimits } from './flow-analysis';
import { FLOW_LIMITS, PARTITIONED_FLOW_LIMITS } from './flow-task';
import { Arena, type ArenaOptions, type CutAction, type RestartMode, type WorkerSlot } from './arena';
import { Rng, scaled, sleep } from './config';
import { readLedger, type ChaosWork, type LedgerDump } from './ledger';
import type { Producer } from './producer';
import { partitionOfTaskId } from '../lib/partitions/task-ids';

export interface ScenarioResult {
  readonly id: string;
  readonly title: string;
  /** Epoch ms the scenario began (its log's +0.0s). */
  startedAt: number;
  tasks: number;
  findings?: Findings;
  /** The flow scenario's concurrency and progress findings. */
  flow?: FlowFindings;
  kills: number;
  restarts: number;
  cuts: number;
  wallMs: number;
  rejectedEnqueues: number;
  /** Overlaps of runs on a worker stalled past maxStallMs are the documented outcome here. */
  readonly stallOverlapsExpected: boolean;
  readonly notes: string[];
  readonly errors: string[];
}

export interface Scenario {
  readonly id: string;
  readonly title: string;
  run(scale: number, rng: Rng): Promise<ScenarioResult>;
}

/** What a scenario body hands back: the ids that must complete (default: every acknowledged id). */
interface BodyResult {
  required?: string[];
  /** Extra checks after the drain; a returned string is an error. */
  verify?: () => Promise<string[]>;
  /** Lines for the report (what the scenario did). */
  notes?: string[];
  /** More lines for the report, computed after the drain. */
  summarize?: () => Promise<string[]>;
}

interface Spec {
  id: string;
  title: string;
  arena: Omit<ArenaOptions, 'id'>;
  /** Hard limit on the whole scenario (feed, chaos, drain). */
  deadlineMs: number;
  stallOverlapsExpected?: boolean;
  /** The flow task's limits: its runs are checked against them (flow-analysis.ts). */
  flowLimits?: FlowLimits;
}

const DRAIN_TIMEOUT_MS = 90_000;
/** After the drain, runs re-executed after a kill may still be finishing: let them end. */
const QUIET_MS = 1_500;

async function runScenario(spec: Spec, rng: Rng, body: (arena: Arena) => Promise<BodyResult>): Promise<ScenarioResult> {
  const t0 = Date.now();
  const result: ScenarioResult = {
    id: spec.id,
    title: spec.title,
    startedAt: t0,
    tasks: 0,
    kills: 0,
    restarts: 0,
    cuts: 0,
    wallMs: 0,
    rejectedEnqueues: 0,
    stallOverlapsExpected: spec.stallOverlapsExpected ?? false,
    notes: [],
    errors: [],
  };
  process.stdout.write(`\n== ${spec.id}: ${spec.title}\n`);
  let arena: Arena | undefined;
  let deadline: NodeJS.Timeout | undefined;
  try {
    arena = await Arena.open({ id: spec.id, ...spec.arena });
    const a = arena;
    result.startedAt = a.startedAt;
    a.log(
      `${spec.arena.workers} workers ready${spec.arena.proxied ? ', each behind its own proxy' : ''}; queue Redis ${a.queue.url} (AOF, appendfsync always), ledger Redis ${a.ledgerServer.url}`,
    );
    const timedOut = new Promise<'timeout'>(
      (resolve) => (deadline = setTimeout(() => resolve('timeout'), spec.deadlineMs)),
    );
    const work = (async () => {
      const { required, verify, notes, summarize } = await body(a);
      result.notes.push(...(notes ?? []));
      const must = required ?? [...a.producer.acked];
      a.log(`chaos over; ${a.producer.acked.size} tasks acknowledged; draining`);
      const open = await a.drain(must, DRAIN_TIMEOUT_MS);
      a.log(
        open.length === 0
          ? 'every required task completed'
          : `${open.length} required task(s) still open after ${DRAIN_TIMEOUT_MS / 1000} s`,
      );
      await sleep(QUIET_MS);
      if (summarize) result.notes.push(...(await summarize()));
      return { must, verify };
    })();
    const outcome = await Promise.race([work, timedOut]);
    if (outcome === 'timeout') {
      result.errors.push(`scenario deadline (${spec.deadlineMs / 1000} s) passed`);
      work.catch(() => undefined);
    }
    const must = outcome === 'timeout' ? [...a.producer.acked] : outcome.must;
    if (outcome !== 'timeout' && outcome.verify) result.errors.push(...(await outcome.verify()));
    const [dump, completed, resultWorker, residue] = await Promise.all([
      readLedger(a.ledger, a.L),
      a.completed(must),
      a.resultWorkers([...a.producer.acked]),
      a.residue(),
    ]);
    result.findings = analyze({
      dump,
      slots: a.slots,
      required: must,
      completed,
      resultWorker,
      deadLetters: residue.deadLetters,
      stallsExpected: result.stallOverlapsExpected,
      failoverKills: a.failoverKills,
      now: Date.now(),
    });
    if (spec.flowLimits) {
      result.flow = analyzeFlow({
        dump,
        slots: a.slots,
        limits: spec.flowLimits,
        enqueued: a.producer.flowAcked,
        partitions: spec.arena.partitions,
        now: Date.now(),
      });
    }
    // A worker that exited without being killed crashed: that is a failure of its own.
    for (const slot of a.slots.filter((x) => x.exitedAt !== undefined && x.killedAt === undefined)) {
      const at = ((slot.exitedAt! - a.startedAt) / 1000).toFixed(1);
      const how = slot.exit?.signal ? `signal ${slot.exit.signal}` : `code ${slot.exit?.code}`;
      result.errors.push(`worker ${slot.name} exited by itself (${how}) at +${at}s:\n${slot.handle.output()}`);
    }
    if (dump.stalls.length > 0) {
      result.notes.push(
        `${dump.stalls.length} run(s) stalled their event loop: ${dump.stalls.map((x) => `${x.w} ${x.to - x.from} ms`).join(', ')}`,
      );
    }
    result.tasks = a.producer.acked.size;
    result.rejectedEnqueues = a.producer.rejectedTasks;
    for (const [why, n] of a.producer.rejections) result.notes.push(`enqueue rejected x${n}: ${why}`);
    if (residue.stream + residue.pending + residue.delayed + residue.deadLetters.size > 0) {
      result.notes.push(
        `left in Redis: ${residue.stream} stream entries, ${residue.pending} pending, ${residue.delayed} delayed, ${residue.deadLetters.size} dead-lettered`,
      );
      for (const e of residue.entries) {
        const runs = dump.starts.filter((r) => r.id === e.taskId);
        const done = completed.has(e.taskId) || resultWorker.has(e.taskId);
        const state = !e.delivered
          ? 'not read yet'
          : done
            ? 'read, settled and acked, but not removed from the stream'
            : 'read, not pending, task NOT completed: orphaned';
        const where = runs.map((r) => `${r.w} entry ${r.e}`).join(', ') || 'none';
        result.notes.push(`left in the stream: entry ${e.entry} of task ${e.taskId} (${state}; runs: ${where})`);
      }
    }
  } catch (error) {
    result.errors.push(`scenario failed: ${(error as Error).stack ?? String(error)}`);
  } finally {
    clearTimeout(deadline);
    if (arena) {
      result.kills = arena.kills;
      result.restarts = arena.restarts;
      result.cuts = arena.cuts;
      await arena.close();
      result.errors.push(...arena.incidents.filter((i) => !i.startsWith('teardown')));
      result.notes.push(...arena.incidents.filter((i) => i.startsWith('teardown')));
    }
    result.wallMs = Date.now() - t0;
  }
  return result;
}

/** Times at which `n` actions happen, spread over `windowMs` with jitter, as offsets from now. */
function schedule(n: number, windowMs: number, rng: Rng): number[] {
  return Array.from({ length: n }, (_, i) => Math.round(((i + 0.3 + 0.4 * rng.next()) / n) * windowMs));
}

/** Runs `act(i)` at each offset of `times` (sequentially: an action that overruns delays the next). */
async function atTimes(times: number[], act: (i: number) => Promise<void>): Promise<void> {
  const t0 = Date.now();
  for (let i = 0; i < times.length; i++) {
    const wait = t0 + times[i] - Date.now();
    if (wait > 0) await sleep(wait);
    await act(i);
  }
}

const fast = (rng: Rng): ChaosWork => ({ ms: rng.int(5, 200) });

/** A random live worker (not already killed). */
function victim(arena: Arena, rng: Rng): WorkerSlot | undefined {
  const live = arena.live();
  return live.length === 0 ? undefined : rng.pick(live);
}

export const kills: Scenario = {
  id: 'kills',
  title: 'workers SIGKILLed at random (replacements started) while thousands of tasks run',
  run(scale, rng) {
    const tasks = scaled(4_000, scale, 400);
    const killCount = scaled(8, scale, 3);
    const windowMs = Math.max(6_000, (tasks / 200) * 1_000);
    return runScenario(
      { id: 'kills', title: this.title, arena: { workers: 4 }, deadlineMs: windowMs + 180_000 },
      rng,
      async (arena) => {
        const feeding = arena.producer.feed(tasks, windowMs, () => fast(rng), rng);
        let doubles = 0;
        await atTimes(schedule(killCount, windowMs, rng), async (i) => {
          // Once two at once: their tasks are reclaimed by the survivors together.
          const first = victim(arena, rng);
          const others = arena.live().filter((s) => s !== first);
          const targets = i === 1 && first && others.length > 0 ? [first, rng.pick(others)] : first ? [first] : [];
          if (targets.length === 2) doubles++;
          for (const slot of targets) {
            arena.log(`SIGKILL ${slot.name} (pid ${slot.handle.pid}); starting a replacement`);
            await arena.kill(slot);
            arena.respawn();
          }
        });
        await feeding;
        return {
          notes: [
            `${arena.kills} SIGKILLs (${doubles} of two workers at once), each followed by a replacement; 4 workers x concurrency 8; tasks 5-200 ms`,
          ],
        };
      },
    );
  },
};

export const redisRestarts: Scenario = {
  id: 'redis-restart',
  title: "the queue's Redis restarted mid-run (SIGTERM, SHUTDOWN NOSAVE, SIGKILL; same AOF), once down past the lease",
  run(scale, rng) {
    const tasks = scaled(3_000, scale, 300);
    const restarts = scaled(4, scale, 3);
    const windowMs = Math.max(9_000, (tasks / 100) * 1_000);
    // The third restart is a crash that keeps Redis down past the lease: every liveness key has
    // expired when it comes back, while every worker is still running its tasks.
    const plan: { mode: RestartMode; downMs: () => number }[] = [
      { mode: 'SIGTERM', downMs: () => rng.int(0, 400) },
      { mode: 'SHUTDOWN NOSAVE', downMs: () => rng.int(0, 400) },
      { mode: 'SIGKILL', downMs: () => rng.int(1_500, 2_000) },
    ];
    return runScenario(
      { id: 'redis-restart', title: this.title, arena: { workers: 3 }, deadlineMs: windowMs + 180_000 },
      rng,
      async (arena) => {
        const make = (): ChaosWork => (rng.chance(0.06) ? { ms: rng.int(1_200, 2_500) } : fast(rng));
        const feeding = arena.producer.feed(tasks, windowMs, make, rng);
        let lastRestart = 0;
        const done: string[] = [];
        await atTimes(schedule(restarts, windowMs, rng), async (i) => {
          const { mode, downMs: down } = plan[i % plan.length];
          const downMs = down();
          arena.log(`restarting the queue's Redis: ${mode}, down ${downMs} ms`);
          const took = await arena.restartRedis(mode, downMs);
          lastRestart = Date.now();
          done.push(`${mode} (answering again after ${took} ms)`);
          arena.log(`Redis answering again after ${took} ms`);
        });
        await feeding;
        return {
          notes: [`restarts: ${done.join(', ')}; 3 workers x concurrency 8, leaseMs 1000; 6% of tasks run 1.2-2.5 s`],
          verify: async () => {
            // Workers reconnect by themselves: each one still running settled tasks after the last restart.
            const dump = await readLedger(arena.ledger, arena.L);
            const live = arena.live().map((s) => s.name);
            const active = new Set(dump.settles.filter((s) => s.ts > lastRestart).map((s) => s.w));
            const idle = live.filter((w) => !active.has(w));
            return idle.length === 0
              ? []
              : [`worker(s) ${idle.join(', ')} settled nothing after the last restart (did not reconnect?)`];
          },
        };
      },
    );
  },
};

export const connectionCuts: Scenario = {
  id: 'cuts',
  title: 'connections cut through a TCP proxy (drop, stall, half-open), one worker or all',
  run(scale, rng) {
    const tasks = scaled(3_000, scale, 300);
    const cutCount = scaled(10, scale, 4);
    const windowMs = Math.max(10_000, (tasks / 100) * 1_000);
    type Cut = { label: string; all: boolean; action: () => CutAction };
    const cuts: Cut[] = [
      { label: 'drop', all: false, action: () => ({ kind: 'drop' }) },
      { label: 'stall under the lease', all: false, action: () => ({ kind: 'stall', ms: rng.int(300, 600) }) },
      {
        label: 'half-open (replies lost), then reset',
        all: false,
        action: () => ({ kind: 'half-open', direction: 'to-client', ms: rng.int(1_500, 2_500), after: 'reset' }),
      },
      { label: 'stall past the lease', all: false, action: () => ({ kind: 'stall', ms: rng.int(1_500, 2_500) }) },
      {
        label: 'half-open (requests lost), then resume',
        all: false,
        action: () => ({ kind: 'half-open', direction: 'to-server', ms: rng.int(1_500, 2_500), after: 'resume' }),
      },
      { label: 'drop', all: true, action: () => ({ kind: 'drop' }) },
      {
        label: 'half-open (replies lost), then resume',
        all: false,
        action: () => ({ kind: 'half-open', direction: 'to-client', ms: rng.int(1_500, 2_500), after: 'resume' }),
      },
      { label: 'stall under the lease', all: true, action: () => ({ kind: 'stall', ms: rng.int(300, 600) }) },
      { label: 'stall past the lease', all: true, action: () => ({ kind: 'stall', ms: rng.int(1_500, 2_000) }) },
    ];
    return runScenario(
      { id: 'cuts', title: this.title, arena: { workers: 4, proxied: true }, deadlineMs: windowMs + 180_000 },
      rng,
      async (arena) => {
        // Some runs outlive the lease, so a cut past the lease catches them mid-run.
        const make = (): ChaosWork => (rng.chance(0.06) ? { ms: rng.int(1_200, 2_500) } : fast(rng));
        const feeding = arena.producer.feed(tasks, windowMs, make, rng);
        const done: string[] = [];
        await atTimes(schedule(cutCount, windowMs, rng), async (i) => {
          const cut = cuts[i % cuts.length];
          const one = victim(arena, rng);
          const targets = cut.all ? arena.live() : one ? [one] : [];
          const action = cut.action();
          const what = `${cut.label}${'ms' in action ? ` ${action.ms} ms` : ''} on ${cut.all ? 'every worker' : targets.map((t) => t.name).join(', ')}`;
          arena.log(`cut: ${what}`);
          done.push(what);
          await arena.cut(targets, action);
        });
        await feeding;
        const resets = arena.slots.reduce((n, s) => n + (s.proxy?.resets ?? 0), 0);
        return {
          notes: [
            `cuts: ${done.join('; ')} (${resets} sockets reset in all); 6% of tasks run 1.2-2.5 s, past the lease`,
          ],
        };
      },
    );
  },
};

export const slowHandlers: Scenario = {
  id: 'slow',
  title: 'slow and blocking handlers (event loop blocked > leaseMs, < maxStallMs) among fast ones',
  run(scale, rng) {
    const tasks = scaled(600, scale, 120);
    const windowMs = Math.max(6_000, 15_000 * scale);
    const mix = { blocking: 0, slow: 0, fast: 0 };
    const make = (): ChaosWork => {
      const roll = rng.next();
      if (roll < 0.04) {
        mix.blocking++;
        return { ms: rng.int(1_200, 2_500), block: true }; // blocks the loop 1.2-2.5x the lease
      }
      if (roll < 0.14) {
        mix.slow++;
        return { ms: rng.int(1_200, 3_000) }; // outlives the lease, loop free
      }
      mix.fast++;
      return { ms: rng.int(5, 60) };
    };
    return runScenario(
      {
        id: 'slow',
        title: this.title,
        arena: { workers: 3, env: { MAX_STALL_MS: '5000', CONCURRENCY: '4' } },
        deadlineMs: windowMs + 180_000,
      },
      rng,
      async (arena) => {
        await arena.producer.feed(tasks, windowMs, make, rng);
        return {
          notes: [
            `${mix.blocking} handlers blocked the event loop 1.2-2.5 s, ${mix.slow} ran 1.2-3 s without blocking, ${mix.fast} ran 5-60 ms (leaseMs 1000, maxStallMs 5000, 3 workers x concurrency 4)`,
          ],
        };
      },
    );
  },
};

export const stallsPastMax: Scenario = {
  id: 'stall-past-max',
  title: 'a few handlers stall the event loop past maxStallMs (overlaps expected)',
  run(scale, rng) {
    const tasks = scaled(400, scale, 80);
    const stallers = scaled(4, scale, 2);
    const windowMs = Math.max(6_000, 12_000 * scale);
    const every = Math.floor(tasks / stallers);
    // maxStallMs 1500 + lease 1000: the run is reclaimed about 2.7 s into a 3.5 s stall.
    const make = (i: number): ChaosWork =>
      i % every === every - 1 ? { ms: 20, stallMs: 3_500 } : { ms: rng.int(5, 60) };
    return runScenario(
      {
        id: 'stall-past-max',
        title: this.title,
        arena: { workers: 3, env: { MAX_STALL_MS: '1500', CONCURRENCY: '4' } },
        deadlineMs: windowMs + 180_000,
        stallOverlapsExpected: true,
      },
      rng,
      async (arena) => {
        await arena.producer.feed(tasks, windowMs, make, rng);
        return {
          notes: [
            `${stallers} handlers block the event loop 3.5 s on their first start (maxStallMs 1500 + leaseMs 1000: taken over after about 2.7 s); ` +
              'their runs, and the runs frozen with them on the same worker, overlap with the takeover by design; their late settles are refused or dropped',
          ],
        };
      },
    );
  },
};

export const keys: Scenario = {
  id: 'keys',
  title: 'keyed enqueue and replace() from many producers while workers are SIGKILLed',
  run(scale, rng) {
    const keyCount = scaled(150, scale, 30);
    const ops = scaled(2_500, scale, 300);
    const killCount = scaled(6, scale, 2);
    const windowMs = Math.max(8_000, (ops / 120) * 1_000);
    const LANES = 16;
    return runScenario(
      { id: 'keys', title: this.title, arena: { workers: 4 }, deadlineMs: windowMs + 180_000 },
      rng,
      async (arena) => {
        const { producer } = arena;
        const busy = new Set<string>();
        const perLane = Math.ceil(ops / LANES);
        const gapMs = (windowMs / perLane) * 0.8;
        const lane = async () => {
          for (let n = 0; n < perLane; n++) {
            let key = `k${rng.int(1, keyCount)}`;
            for (let tries = 0; busy.has(key) && tries < 10; tries++) key = `k${rng.int(1, keyCount)}`;
            if (busy.has(key)) continue;
            // One operation per key at a time, so "the latest acknowledged run" of a key is well defined.
            busy.add(key);
            await producer.keyed(key, { ms: rng.int(20, 300) }, rng.chance(0.4) ? 'replace' : 'enqueue');
            busy.delete(key);
            await sleep(gapMs * (0.5 + rng.next()));
          }
        };
        const feeding = Promise.all(Array.from({ length: LANES }, lane));
        await atTimes(schedule(killCount, windowMs, rng), async () => {
          const slot = victim(arena, rng);
          if (!slot) return;
          arena.log(`SIGKILL ${slot.name} (pid ${slot.handle.pid}); starting a replacement`);
          await arena.kill(slot);
          arena.respawn();
        });
        await feeding;
        await producer.settled();
        const summary = `${producer.heads.size} keys, ${producer.replaces} replace() calls, ${producer.deduplicated} enqueues answered with the key's live run; ${arena.kills} SIGKILLs`;
        arena.log(summary);
        return {
          notes: [
            `${summary}; "lost" counts each key's latest acknowledged run, which must complete (older generations are superseded by design)`,
          ],
          required: [...producer.heads.values()].map((h) => h.id),
          summarize: async () => {
            // A run aborted as SUPERSEDED whose settle then scheduled a retry was not stale: show its key's history.
            const dump = await readLedger(arena.ledger, arena.L);
            const wrong = dump.failures.filter((f) => f.key !== undefined && /superseded/i.test(f.detail));
            return wrong
              .slice(0, 3)
              .map(
                (f) =>
                  `key ${f.key} history (a run aborted as superseded, then retried as current):\n${keyHistory(f.key!, producer, dump, arena.startedAt)}`,
              );
          },
          verify: async () => {
            const problems: string[] = [];
            for (const [key, head] of producer.heads) {
              const status = await producer.client.status(key);
              if (status?.state !== 'completed' || status.id !== head.id || status.generation !== head.generation) {
                problems.push(
                  `key ${key}: latest acknowledged run ${head.id} (generation ${head.generation}) but status ${JSON.stringify(status && { state: status.state, id: status.id, generation: status.generation })}`,
                );
              }
            }
            return problems.length === 0
              ? []
              : [`${problems.length} key(s) whose latest generation did not complete`, ...problems.slice(0, 5)];
          },
        };
      },
    );
  },
};

/** One key's acknowledged operations and runs, in time order, for a report note. */
function keyHistory(key: string, producer: Producer, dump: LedgerDump, t0: number): string {
  const at = (ts: number) => `+${((ts - t0) / 1000).toFixed(3)}s`;
  const lines: [number, string][] = [];
  for (const op of producer.keyLog.filter((o) => o.key === key)) {
    lines.push([
      op.sentAt,
      `${at(op.sentAt)}..${at(op.ts)} ${op.op} -> generation ${op.generation} (${op.created ? 'new run' : 'the live run'} ${op.id.slice(0, 8)})`,
    ]);
  }
  for (const r of dump.starts.filter((x) => x.key === key)) {
    const end = dump.ends.get(r.token);
    lines.push([
      r.ts,
      `${at(r.ts)} run of generation ${r.g} (${r.id.slice(0, 8)}, attempt ${r.a}) on ${r.w}: ${end ? `${end.how}${end.why ? ` (${end.why})` : ''} at ${at(end.ts)}` : 'no end'}`,
    ]);
  }
  for (const f of dump.failures.filter((x) => x.key === key))
    lines.push([f.ts, `${at(f.ts)} 'failed' event on ${f.w}: ${f.detail}`]);
  return lines
    .sort((a, b) => a[0] - b[0])
    .map(([, l]) => `      ${l}`)
    .join('\n');
}

export const clusterFailover: Scenario = {
  id: 'cluster-failover',
  title: "the queue's cluster master SIGKILLed mid-drain, its replica promoted (3 masters, 3 replicas)",
  run(scale, rng) {
    const tasks = scaled(2_000, scale, 300);
    const failovers = Math.max(1, Math.round(2 * scale));
    const windowMs = scaled(20_000, scale, 6_000);
    return runScenario(
      {
        id: 'cluster-failover',
        title: this.title,
        // A lease longer than a failover (node timeout 1 s, then the election), as the README
        // advises: under it every worker's liveness lapses during each failover and its runs are
        // taken over (fenced, but run twice).
        arena: { workers: 3, cluster: true, env: { LEASE_MS: '10000' } },
        deadlineMs: windowMs + 240_000,
      },
      rng,
      async (arena) => {
        const feeding = arena.producer.feed(tasks, windowMs, () => fast(rng), rng);
        const done: string[] = [];
        await atTimes(schedule(failovers, windowMs, rng), async () => {
          arena.log('SIGKILL the master of the queue slot');
          const { port, ms } = await arena.failoverMaster();
          arena.log(`master :${port} replaced by its replica in ${ms} ms; it is back as a replica`);
          done.push(`:${port} in ${ms} ms`);
        });
        await feeding;
        return {
          notes: [
            `failovers: ${done.join(', ')}; enqueues wait for a replica (durability), so acknowledged tasks survive them`,
          ],
        };
      },
    );
  },
};

export const reshard: Scenario = {
  id: 'reshard',
  title: "the queue's slot moved between masters mid-drain (MIGRATE under ASK, then MOVED)",
  run(scale, rng) {
    const tasks = scaled(2_000, scale, 300);
    const moves = Math.max(2, Math.round(4 * scale));
    const windowMs = scaled(20_000, scale, 6_000);
    return runScenario(
      { id: 'reshard', title: this.title, arena: { workers: 3, cluster: true }, deadlineMs: windowMs + 180_000 },
      rng,
      async (arena) => {
        const feeding = arena.producer.feed(tasks, windowMs, () => fast(rng), rng);
        const done: string[] = [];
        await atTimes(schedule(moves, windowMs, rng), async () => {
          const { from, to, ms } = await arena.reshard();
          arena.log(`slot moved :${from} -> :${to} in ${ms} ms`);
          done.push(`:${from}->:${to} ${ms} ms`);
        });
        await feeding;
        return { notes: [`slot moves: ${done.join(', ')}`] };
      },
    );
  },
};

/**
 * The flow scenario on a queue of `partitions`: the same workload and faults whatever the count;
 * the limits checked are the fleet's (flow-analysis.ts), and on a partitioned queue every
 * partition must have received tasks (each group goes to its group's partition).
 */
function flowScenario(id: string, partitions: number, limits: FlowLimits): Scenario {
  const rate = (r: FlowLimits['rateLimit']) => (r ? `${r.max}/${r.perMs} ms` : 'none');
  return {
    id,
    title:
      `a flow-limited task over 20 groups${partitions > 1 ? ` on a queue of ${partitions} partitions` : ''} ` +
      `(globalConcurrency ${limits.globalConcurrency}, groupConcurrency ${limits.groupConcurrency}, ` +
      `rateLimit ${rate(limits.rateLimit)}, groupRateLimit ${rate(limits.groupRateLimit)}) ` +
      `through SIGKILLs, stalls past maxStallMs and Redis restarts`,
    run(scale, rng) {
      return runFlow(this, scale, rng, partitions, limits);
    },
  };
}

function runFlow(
  scenario: Scenario,
  scale: number,
  rng: Rng,
  partitions: number,
  limits: FlowLimits,
): Promise<ScenarioResult> {
  const GROUPS = 20;
  const tasks = scaled(2_000, scale, 300);
  const stallers = scaled(4, scale, 2);
  const killCount = scaled(6, scale, 2);
  const restartCount = scaled(2, scale, 1);
  const windowMs = Math.max(8_000, (tasks / 60) * 1_000);
  const every = Math.floor(tasks / stallers);
  const groupName = (n: number) => `g${String(n).padStart(2, '0')}`;
  // One group floods (40% of the tasks) while 19 share the rest: the others must not starve.
  const make = (i: number): ChaosWork => ({
    ms: rng.int(3, 40),
    ...(i % every === every - 1 ? { stallMs: 3_500 } : {}),
    group: rng.chance(0.4) ? groupName(1) : groupName(rng.int(2, GROUPS)),
    priority: rng.int(1, 10),
  });
  // Kills with restarts spread among them; the first restart a crash down past the lease.
  const actions: ('kill' | RestartMode)[] = Array.from({ length: killCount }, () => 'kill');
  const modes: RestartMode[] = ['SIGKILL', 'SIGTERM'];
  for (let r = 0; r < restartCount; r++)
    actions.splice(Math.round(((r + 0.5) / restartCount) * actions.length) + r, 0, modes[r % modes.length]);
  return runScenario(
    {
      id: scenario.id,
      title: scenario.title,
      arena: { workers: 4, env: { MAX_STALL_MS: '1500', CONCURRENCY: '4' }, partitions, flowLimits: limits },
      deadlineMs: windowMs + 180_000,
      stallOverlapsExpected: true,
      flowLimits: limits,
    },
    rng,
    async (arena) => {
      const feeding = arena.producer.feed(tasks, windowMs, make, rng);
      const done: string[] = [];
      await atTimes(schedule(actions.length, windowMs, rng), async (i) => {
        const action = actions[i];
        if (action === 'kill') {
          const slot = victim(arena, rng);
          if (!slot) return;
          arena.log(`SIGKILL ${slot.name} (pid ${slot.handle.pid}); starting a replacement`);
          await arena.kill(slot);
          arena.respawn();
          return;
        }
        // A worker still booting fails its bootstrap if Redis goes away under its first heartbeat
        // (RedisUnreachableError): restart only once the replacements are up.
        await arena.replacementsStarted();
        const downMs = action === 'SIGKILL' ? rng.int(1_500, 2_000) : rng.int(0, 400);
        arena.log(`restarting the queue's Redis: ${action}, down ${downMs} ms`);
        const took = await arena.restartRedis(action, downMs);
        arena.log(`Redis answering again after ${took} ms`);
        done.push(`${action} (answering again after ${took} ms)`);
      });
      await feeding;
      return {
        notes: [
          `${GROUPS} groups (one gets 40% of the tasks), priorities 1-10, tasks 3-40 ms; 4 workers x concurrency 4` +
            `${partitions > 1 ? `, every process with queues: { default: { partitions: ${partitions} } }` : ''}; ` +
            `${stallers} handlers block the event loop 3.5 s on their first start (maxStallMs 1500); ${arena.kills} SIGKILLs; Redis restarts: ${done.join(', ')}`,
        ],
        verify: async () => {
          const problems: string[] = [];
          // Every slot given back and nothing left waiting once every task completed, in every
          // partition: flow:tasks holds both (a hold, or a wait with a leading NUL).
          for (const [p, keys] of arena.partitionKeys.entries()) {
            const { tasks, room } = keys.flow;
            const [states, waiting] = await Promise.all([arena.admin.hvals(tasks), arena.admin.zcard(room)]);
            const slots = states.filter((state) => !state.startsWith('\0')).length;
            const waits = states.length - slots;
            if (slots + waits + waiting > 0) {
              problems.push(
                `after the drain${partitions > 1 ? ` (partition ${p})` : ''}: ${slots} flow slot(s) still held, ${waits} wait(s) recorded, ${waiting} task(s) in the room`,
              );
            }
          }
          // Tasks must have landed in every partition, or the shares were never tested together:
          // by their ids' suffixes, and by each partition stream's entries-added (Redis wrote them there).
          if (partitions > 1) {
            const added = await Promise.all(
              arena.partitionKeys.map(async (keys) => {
                const info = (await arena.admin.xinfo('STREAM', keys.stream).catch(() => [])) as unknown[];
                const at = info.indexOf('entries-added');
                return at < 0 ? 0 : Number(info[at + 1]);
              }),
            );
            const ids = arena.partitionKeys.map(() => 0);
            for (const id of arena.producer.flowAcked.keys()) ids[partitionOfTaskId(id)]++;
            arena.log(
              `flow tasks acknowledged per partition: ${ids.join(', ')}; entries added to each partition's stream: ${added.join(', ')}`,
            );
            const empty = arena.partitionKeys.flatMap((_, p) => (ids[p] === 0 || added[p] === 0 ? [p] : []));
            if (empty.length > 0)
              problems.push(`no task acknowledged in or written to partition(s) ${empty.join(', ')}`);
          }
          return problems;
        },
      };
    },
  );
}

export const flow = flowScenario('flow', 1, FLOW_LIMITS);

/** The same on a queue of 3 partitions: the fleet must hold the whole limits, each partition its share. */
export const flowPartitioned = flowScenario('flow-partitioned', 3, PARTITIONED_FLOW_LIMITS);

export const SCENARIOS: readonly Scenario[] = [
  kills,
  redisRestarts,
  connectionCuts,
  slowHandlers,
  stallsPastMax,
  keys,
  flow,
  flowPartitioned,
  clusterFailover,
  reshard,
];
