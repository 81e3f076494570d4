/**
 * A chaos worker process: a Nest application context with StreamQueueModule.forRoot and one
 * @Task handler that records every run in the ledger (chaos/ledger.ts), in a Redis of its own.
 *
 *   env: REDIS_URL (the queue's Redis, or this worker's proxy to it), LEDGER_URL, LEDGER (ledger
 *        key prefix), SQ_PREFIX, WORKER (unique name), LEASE_MS, HEARTBEAT_MS, SWEEP_MS,
 *        MAX_STALL_MS, CONCURRENCY, MAX_ATTEMPTS, PARTITIONS (of the queue), FLOW_LIMITS (the flow
 *        task's limits as JSON; flow-task.ts)
 *   payload of 'chaos.work' and of the flow task (flow-task.ts): { ms, block?, stallMs?, group? }
 *     ms       how long the side effect takes: an abortable wait that honours ctx.signal, or with
 *              `block` a synchronous busy loop (the event loop is blocked, as by CPU-bound code)
 *     stallMs  on the task's first start only, block the event loop this long first (a stall
 *              past maxStallMs: the run is taken over while this process is frozen)
 *     group    the flow task's group (the handler cannot read it from its context): logged with the start
 *
 * A run: log the start and take the task's (and key's) running marker (one ledger script); do the
 * side effect; log the end and release the markers (one script). Settle outcomes come from
 * StreamQueueEvents, as in test/recovery/fixtures/ledger-worker.ts. Prints "ready <WORKER>".
 */
import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Redis } from 'ioredis';
import { StreamQueueEvents, StreamQueueModule, Task, type StreamQueueEventType, type TaskContext } from '../lib';
import { defineLedgerCommands, LedgerKeys, recordEnd, recordStart, type ChaosWork, type StartRecord } from './ledger';
import { FLOW_TASK, flowLimitsFromEnv } from './flow-task';
import { env, workerOptionsFromEnv } from '../test/utils/worker-env';
import { serveUntilSignalled } from '../test/utils/worker-lifecycle';

const WORKER = env('WORKER');
const L = new LedgerKeys(env('LEDGER'));
const ledger = new Redis(env('LEDGER_URL'), { maxRetriesPerRequest: null });
defineLedgerCommands(ledger);

/** Added to a run's expected duration for its marker's TTL: a killed run's marker must expire
 * before its task can be reclaimed (lease - heartbeat, 850 ms with the chaos timings). */
const MARKER_MARGIN_MS = 250;

const RETRIES = { maxAttempts: Number(env('MAX_ATTEMPTS', '3')), backoff: { delayMs: 50, maxDelayMs: 400 } };

@Injectable()
class ChaosTasks {
  private runs = 0;

  @Task('chaos.work', RETRIES)
  work(payload: ChaosWork, ctx: TaskContext): Promise<string> {
    return this.run(payload, ctx);
  }

  /** The flow scenario's task: the same run, under flow control; its start records the group. */
  @Task(FLOW_TASK, { ...RETRIES, ...flowLimitsFromEnv() })
  flow(payload: ChaosWork, ctx: TaskContext): Promise<string> {
    return this.run(payload, ctx);
  }

  private async run(payload: ChaosWork, ctx: TaskContext): Promise<string> {
    const stallMs = payload.stallMs ?? 0;
    const start: StartRecord = {
      t: 'S',
      ts: Date.now(),
      id: ctx.id,
      key: ctx.key,
      token: `${WORKER}#${++this.runs}`,
      w: WORKER,
      a: ctx.attempt,
      e: ctx.fencingToken.split('/')[0],
      g: ctx.generation,
      grp: payload.group,
      rs: ctx.startedAt,
    };
    const starts = await recordStart(ledger, L, start, payload.ms + stallMs + MARKER_MARGIN_MS);
    let finished = true;
    if (stallMs > 0 && starts === 1) {
      // Recorded before it begins: a worker SIGKILLed mid-stall (the flow scenario kills at
      // random) must still show its stall, or the takeover of its run looks like an overlap.
      const from = Date.now();
      await ledger.rpush(L.stalls, JSON.stringify({ w: WORKER, id: ctx.id, from, to: from + stallMs }));
      busyWait(stallMs);
    }
    if (payload.block) busyWait(payload.ms);
    else finished = await abortableSleep(payload.ms, ctx.signal);
    // A signal that fired during a synchronous block could not stop it: the side effect is done.
    await recordEnd(
      ledger,
      L,
      start,
      finished ? 'done' : 'aborted',
      finished ? undefined : describeReason(ctx.signal.reason),
    );
    if (!finished) throw ctx.signal.reason;
    return WORKER;
  }
}

function describeReason(reason: unknown): string {
  const code = (reason as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : reason instanceof Error ? reason.name : String(reason);
}

function busyWait(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // the event loop is blocked, as by CPU-bound code
  }
}

/** Resolves true after `ms`, or false as soon as `signal` aborts (cooperative cancellation). */
function abortableSleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

@Module({
  imports: [StreamQueueModule.forRoot(workerOptionsFromEnv({ concurrency: 8, heartbeatMs: 150, maxStallMs: 5000 }))],
  providers: [ChaosTasks],
})
class ChaosWorkerModule {}

const COUNTED: StreamQueueEventType[] = [
  'failed',
  'retry-scheduled',
  'dead-lettered',
  'reclaimed',
  'lease-lost',
  'superseded',
];

async function main(): Promise<void> {
  const app = await NestFactory.createApplicationContext(ChaosWorkerModule, { logger: ['error', 'warn'] });
  const events = app.get(StreamQueueEvents);
  events.on('completed', (e) => {
    void ledger
      .pipeline()
      .incr(L.settled(e.taskId!))
      .rpush(L.settles, JSON.stringify({ id: e.taskId, w: WORKER, ts: Date.now() }))
      .exec();
  });
  events.on('failed', (e) => {
    void ledger.rpush(
      L.failures,
      JSON.stringify({ id: e.taskId, key: e.key, w: WORKER, detail: e.detail, ts: Date.now() }),
    );
  });
  events.on('lease-lost', (e) => {
    void ledger.rpush(L.leaseLost, JSON.stringify({ id: e.taskId, w: WORKER, ts: Date.now() }));
  });
  events.on('completion-refused', (e) => {
    void ledger.rpush(L.refusals, JSON.stringify({ id: e.taskId, w: WORKER, detail: e.detail, ts: Date.now() }));
  });
  for (const type of COUNTED) {
    events.on(type, (e) => {
      const field = type === 'superseded' ? `superseded-${e.detail}` : type;
      void ledger.hincrby(L.events, field, 1);
      if (type === 'dead-lettered') console.log(`dead-lettered ${e.taskId ?? '?'} ${e.detail ?? ''}`);
    });
  }
  await serveUntilSignalled(app, WORKER, () => ledger.quit());
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
