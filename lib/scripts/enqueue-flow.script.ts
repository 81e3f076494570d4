import type { QueueKeys } from '../redis/keys';
import { ScriptCall } from '../redis/scripts';
import { ENQUEUE_CODES, type EnqueueReply } from './enqueue.script';

/** @internal A task's concurrency limits as enqueue-flow.lua records them (0 = none). */
export interface FlowLimits {
  readonly global: number;
  readonly group: number;
  /** Ms a level of priority weighs in the waiting room's rank (the module's priorityAgingMs). */
  readonly agingMs: number;
}

/** @internal One task for enqueue-flow.lua (see its header). */
export interface EnqueueFlowArgs {
  readonly id: string;
  readonly name: string;
  readonly payload: string;
  readonly delayMs: number;
  /** Absolute due time in epoch ms, 0 when `delayMs` applies. */
  readonly runAt: number;
  readonly group?: string;
  readonly priority?: number;
  /** The task's limits when this process has its handler; undefined keeps the recorded ones. */
  readonly limits?: FlowLimits;
  readonly trace?: string;
}

/** @internal The typed call of enqueue-flow.lua; its reply has enqueue.lua's shape. */
export function enqueueFlowScript(keys: QueueKeys, task: EnqueueFlowArgs): ScriptCall<EnqueueReply> {
  const limits = task.limits ? `${task.limits.global} ${task.limits.group} ${task.limits.agingMs}` : '';
  const args = [
    task.id,
    task.name,
    task.payload,
    task.delayMs,
    task.runAt,
    task.group ?? '',
    task.priority ?? '',
    limits,
    keys.controlChannel,
    task.trace ?? '',
  ];
  return new ScriptCall('enqueue-flow', [keys.stream, keys.delayed, ...keys.flowKeys], args, (reply) => {
    const [id, , code, entryId] = reply as [string, number, number, string];
    if (ENQUEUE_CODES[code as 1] !== 'created') throw new Error(`enqueue-flow.lua replied an unknown code: ${code}`);
    return { outcome: 'created', id, generation: 0, entryId: entryId || undefined };
  });
}
