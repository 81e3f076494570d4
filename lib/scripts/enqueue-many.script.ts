import type { QueueKeys } from '../redis/keys';
import { ScriptCall } from '../redis/scripts';

/** @internal One unkeyed task for enqueue-many.lua (see its header). */
export interface EnqueueManyTask {
  readonly id: string;
  readonly name: string;
  readonly payload: string;
  readonly delayMs: number;
  /** Absolute due time in epoch ms, 0 when `delayMs` applies. */
  readonly runAt: number;
  /** The producer's trace context (field t), when a tracer is on. */
  readonly trace?: string;
}

/** @internal Where each task of the call went: its stream entry id, or undefined when delayed. */
export type EnqueueManyReply = ReadonlyArray<string | undefined>;

/**
 * @internal The typed call of enqueue-many.lua: unkeyed tasks of one partition, in order.
 * Partition 0 exists under every count, so only the others check the layout (`partitions`, the
 * queue's count as this process maps it).
 */
export function enqueueManyScript(
  keys: QueueKeys,
  tasks: readonly EnqueueManyTask[],
  partitions = 1,
): ScriptCall<EnqueueManyReply> {
  const args: (string | number)[] = [keys.controlChannel];
  for (const t of tasks) args.push(t.id, t.name, t.payload, t.delayMs, t.runAt, t.trace ?? '');
  const guarded = keys.partition !== 0;
  const redisKeys = guarded ? [keys.stream, keys.delayed, keys.layout] : [keys.stream, keys.delayed];
  return new ScriptCall('enqueue-many', redisKeys, guarded ? [...args, partitions] : args, (reply) =>
    (reply as unknown[]).map((id) => (typeof id === 'string' && id !== '' ? id : undefined)),
  );
}
