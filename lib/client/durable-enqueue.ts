import type { Redis } from 'ioredis';
import { InvalidOptionError, ReplicationTimeoutError } from '../errors';
import type { DurabilityOptions } from '../interfaces';
import { sendEnqueue } from './enqueue-script';
import type { EnqueueCall, EnqueueReply } from './enqueue-call';
import type { ScriptCall } from '../redis/scripts';
import { checkOptionNames } from '../option-names';
import { readOption } from '../options-snapshot';
import { MAX_TIMER_MS } from '../stream-queue.constants';

/** Replies that mean "not run here; try where the slot lives now" (a move, a migration, a failover). */
const REDIRECTION = /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN)\b/;
/** A slot migrates in about a second; a failover takes a few. */
const REDIRECTION_TRIES = 100;
const REDIRECTION_DELAY_MS = 100;

/** @internal Validates a `durability` option (module or enqueue); undefined means none. */
export function checkDurability(option: string, value: unknown): DurabilityOptions | undefined {
  if (value === undefined) return undefined;
  // Each read once, and named when its getter throws: a class instance is not snapshotted.
  const read = (name: keyof DurabilityOptions) =>
    value !== null && typeof value === 'object' ? readOption(value, name, `${option}.${name}`) : undefined;
  const replicas = read('replicas');
  const timeoutMs = read('timeoutMs');
  const isInt = (n: unknown, max: number): n is number =>
    Number.isInteger(n) && (n as number) >= 1 && (n as number) <= max;
  if (value === null || typeof value !== 'object' || !isInt(replicas, 1_000) || !isInt(timeoutMs, MAX_TIMER_MS)) {
    throw new InvalidOptionError(
      option,
      `{ replicas: integer >= 1, timeoutMs: integer from 1 to ${MAX_TIMER_MS} }`,
      value,
    );
  }
  checkOptionNames(`${option}.`, value, ['replicas', 'timeoutMs']);
  return { replicas, timeoutMs };
}

/**
 * @internal An enqueue (its script call, then its second call when enqueue.lua asks to judge an
 * owner: see sendEnqueue), each followed by WAIT (enqueueDurably).
 */
export function enqueueDurablyByCall(
  redis: Redis,
  call: EnqueueCall,
  durability: DurabilityOptions,
): Promise<EnqueueReply> {
  return sendEnqueue(call, (script) => enqueueDurably(redis, script, durability));
}

/**
 * @internal An enqueue's script call (enqueue.lua and its kin, or schedule-periodic.lua for a
 * periodic key's replace()) followed by WAIT in one pipeline: both go to the node that holds the
 * queue's slot, on the same connection, so WAIT counts the replicas that have this write (and
 * every earlier write of that connection). The script is atomic; WAIT only reports, so a reply
 * short of `replicas`, or a WAIT that failed, leaves the task queued and throws
 * ReplicationTimeoutError naming it. An enqueue.lua call answered 'judge-owner' wrote nothing:
 * its WAIT has nothing to count.
 */
export async function enqueueDurably<T extends { readonly id: string; readonly outcome?: string }>(
  redis: Redis,
  script: ScriptCall<T>,
  { replicas, timeoutMs }: DurabilityOptions,
): Promise<T> {
  let replies: [Error | null, unknown][];
  for (let attempt = 1; ; attempt++) {
    const pipeline = script.queueOn(redis.pipeline());
    pipeline.call('WAIT', replicas, timeoutMs);
    replies = ((await pipeline.exec()) ?? []) as [Error | null, unknown][];
    // ioredis re-sends a cluster pipeline after a redirection only when its other commands are
    // read-only, and WAIT is not: a slot that moves (or migrates) under the call is retried
    // here. These errors come before the script runs: nothing was written.
    const redirection = REDIRECTION.exec(String(replies[0]?.[0]?.message))?.[1];
    if (!redirection || attempt >= REDIRECTION_TRIES) break;
    // Nor does it learn the slot's new master from a MOVED it did not follow: ask for the map.
    const cluster = redis as unknown as { refreshSlotsCache?: (done: () => void) => void };
    if (redirection === 'MOVED' && cluster.refreshSlotsCache) {
      await new Promise<void>((resolve) => cluster.refreshSlotsCache!(() => resolve()));
    } else {
      await new Promise((resolve) => setTimeout(resolve, REDIRECTION_DELAY_MS));
    }
  }
  const [[scriptError, reply], [waitError, acknowledged]] = replies;
  if (scriptError) throw scriptError;
  const enqueued = script.decode(reply);
  // A call asking for an owner's lease wrote nothing: its WAIT has nothing to count.
  if (enqueued.outcome === 'judge-owner') return enqueued;
  // The script answered, so the task is written: a WAIT that failed (blocking on Redis, it is
  // the command a dropped connection most often cuts) must not read as a call that wrote nothing.
  if (waitError) throw ReplicationTimeoutError.failedWait(enqueued.id, replicas, timeoutMs, waitError);
  if (Number(acknowledged) < replicas) {
    throw new ReplicationTimeoutError(enqueued.id, replicas, Number(acknowledged), timeoutMs);
  }
  return enqueued;
}
