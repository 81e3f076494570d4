import type { QueueKeys } from '../redis/keys';
import { replyCodes, ScriptCall } from '../redis/scripts';
import { ENQUEUE_CODES, type EnqueueReply } from './enqueue.script';

/** @internal A task's limits as enqueue-flow.lua records them (0 = none). */
export interface FlowLimits {
  readonly global: number;
  readonly group: number;
  /** Ms a level of priority weighs in the waiting room's rank (the module's priorityAgingMs). */
  readonly agingMs: number;
  /** Starts per window across all workers, and per group (rate limits); undefined for none. */
  readonly rate?: RateWindow;
  readonly groupRate?: RateWindow;
}

/** @internal A rate limit: at most `max` starts in any `perMs` on Redis's clock. */
export interface RateWindow {
  readonly max: number;
  readonly perMs: number;
}

/** @internal The limits record the flow scripts read (includes/flow.lua and rate.lua). */
export function flowLimitsText(l: FlowLimits): string {
  const rate = (w: RateWindow | undefined) => (w ? `${w.max} ${w.perMs}` : '0 0');
  return `${l.global} ${l.group} ${l.agingMs} ${rate(l.rate)} ${rate(l.groupRate)}`;
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
  /** The queue's partition count as this process maps it (layout-guard.lua); 1 when not given. */
  readonly partitions?: number;
}

/** A flow enqueue always creates (it takes no key): enqueue.lua's code 1, and no other. */
const createdOnly = replyCodes('enqueue-flow', { 1: ENQUEUE_CODES[1] });

/** @internal The typed call of enqueue-flow.lua; its reply has enqueue.lua's shape. */
export function enqueueFlowScript(keys: QueueKeys, task: EnqueueFlowArgs): ScriptCall<EnqueueReply> {
  const limits = task.limits ? flowLimitsText(task.limits) : '';
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
    task.partitions ?? 1,
  ];
  const redisKeys = [keys.stream, keys.delayed, ...keys.flowKeys, keys.layout];
  return new ScriptCall('enqueue-flow', redisKeys, args, (reply) => {
    const [id, , code, entryId, , waits] = reply as [string, number, number, string, string, string];
    // The client checks the name and the group, and draws the id: a refusal is a caller's bug.
    if (Number(code) === -1)
      throw new Error('enqueue-flow.lua refused the task: a task id, name or group a worker does not take');
    const created = { outcome: createdOnly(code), id, generation: 0, entryId: entryId || undefined };
    return waits === 'w' ? { ...created, waitsForSlot: true } : created;
  });
}
