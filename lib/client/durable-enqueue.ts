import type { Redis } from 'ioredis';
import { InvalidOptionError, ReplicationTimeoutError } from '../errors';
import type { DurabilityOptions } from '../interfaces';
import type { QueueKeys } from '../redis/keys';
import { runScript } from '../redis/scripts';
import { MAX_TIMER_MS } from '../stream-queue.constants';
import { enqueueScriptArgs, type EnqueueCall, type EnqueueReply } from './enqueue-call';

/** @internal Validates a `durability` option (module or enqueue); undefined means none. */
export function checkDurability(option: string, value: unknown): DurabilityOptions | undefined {
  if (value === undefined) return undefined;
  const { replicas, timeoutMs } = (value ?? {}) as Partial<DurabilityOptions>;
  const isInt = (n: unknown, max: number): n is number =>
    Number.isInteger(n) && (n as number) >= 1 && (n as number) <= max;
  if (value === null || typeof value !== 'object' || !isInt(replicas, 1_000) || !isInt(timeoutMs, MAX_TIMER_MS)) {
    throw new InvalidOptionError(
      option,
      `{ replicas: integer >= 1, timeoutMs: integer from 1 to ${MAX_TIMER_MS} }`,
      value,
    );
  }
  return { replicas, timeoutMs };
}

/**
 * @internal An enqueue followed by WAIT in one pipeline: both go to the node that holds the
 * queue's slot, on the same connection, so WAIT counts the replicas that have this write (and
 * every earlier write of that connection). The script is atomic; WAIT only reports, so a reply
 * short of `replicas` leaves the task queued and throws ReplicationTimeoutError naming it.
 */
export async function enqueueDurably(
  redis: Redis,
  keys: QueueKeys,
  call: EnqueueCall,
  { replicas, timeoutMs }: DurabilityOptions,
): Promise<EnqueueReply> {
  const pipeline = runScript(redis.pipeline(), 'enqueue', ...enqueueScriptArgs(keys, call));
  pipeline.call('WAIT', replicas, timeoutMs);
  const [[scriptError, reply], [waitError, acknowledged]] = ((await pipeline.exec()) ?? []) as [
    Error | null,
    unknown,
  ][];
  if (scriptError) throw scriptError;
  if (waitError) throw waitError;
  const enqueued = reply as EnqueueReply;
  if (Number(acknowledged) < replicas) {
    throw new ReplicationTimeoutError(enqueued[0], replicas, Number(acknowledged), timeoutMs);
  }
  return enqueued;
}
