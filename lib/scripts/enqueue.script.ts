import type { QueueKeys } from '../redis/keys';
import { replyCodes, ScriptCall } from '../redis/scripts';
import { CONSUMER_GROUP } from '../stream-queue.constants';

/** @internal One task for enqueue.lua (see its header). */
export interface EnqueueArgs {
  readonly id: string;
  readonly name: string;
  readonly payload: string;
  readonly delayMs: number;
  /** Absolute due time in epoch ms, 0 when `delayMs` applies. */
  readonly runAt: number;
  readonly mode: 'add' | 'replace';
  readonly key: string | undefined;
  /** Period of an `every` key, 0 for none. */
  readonly everyMs: number;
  /** A periodic run carries its slot time. */
  readonly periodic: boolean;
  /** The queue's partition count as this process maps it: a keyed call checks it (layout-guard.lua). */
  readonly partitions: number;
  /** The producer's trace context (field t), when a tracer is on. */
  readonly trace?: string;
  /**
   * The owner of the key's running run this call judges: the one a first call named
   * (OwnerToJudge). Its liveness key is declared, and the run is gone if that key expired, or
   * holds another value than the run was claimed under (that lease lapsed and was taken again).
   */
  readonly judgedOwner?: string;
}

/**
 * @internal What enqueue.lua did: created the task (its stream entry id, none when delayed),
 * returned the key's existing live run, or refused because another task's run holds the key.
 */
export type EnqueueReply =
  | {
      readonly outcome: 'created';
      readonly id: string;
      readonly generation: number;
      readonly entryId?: string;
      /** Under flow control, waiting in the room: its end is read from flow:tasks (settled-state.ts). */
      readonly waitsForSlot?: boolean;
    }
  | { readonly outcome: 'existing'; readonly id: string; readonly generation: number }
  | { readonly outcome: 'conflict'; readonly id: string; readonly generation: number; readonly holder: string };

/**
 * @internal enqueue.lua wrote nothing and asks for `owner`'s lease: the key's running run has
 * nothing left in Redis but its owner (its stream was deleted, or its entry), and is gone only if
 * the lease that owner claimed it under lapsed. The same call (task `id`) is sent again with `judgedOwner` (see enqueue-script.ts).
 */
export interface OwnerToJudge {
  readonly outcome: 'judge-owner';
  readonly id: string;
  readonly owner: string;
}

/** @internal enqueue.lua's reply codes. */
export const ENQUEUE_CODES = { 1: 'created', 0: 'existing', [-1]: 'conflict', 2: 'judge-owner' } as const;
const outcomeOf = replyCodes('enqueue', ENQUEUE_CODES);

/** @internal The typed call of enqueue.lua. */
export function enqueueScript(keys: QueueKeys, task: EnqueueArgs): ScriptCall<EnqueueReply | OwnerToJudge> {
  const args = [
    task.id,
    task.name,
    task.payload,
    task.delayMs,
    task.runAt,
    task.mode,
    task.key ?? '',
    keys.controlChannel,
  ];
  const keyed = task.key !== undefined;
  const { judgedOwner } = task;
  const judged = judgedOwner === undefined ? [] : [keys.alive(judgedOwner)];
  return new ScriptCall(
    'enqueue',
    keyed
      ? [keys.stream, keys.delayed, keys.keyState(task.key!), keys.seq, keys.layout, keys.schedules, ...judged]
      : [keys.stream, keys.delayed],
    keyed
      ? [
          ...args,
          task.everyMs,
          task.periodic ? '1' : '0',
          keys.doneChannel,
          task.partitions,
          task.trace ?? '',
          CONSUMER_GROUP,
          judgedOwner ?? '',
        ]
      : task.trace === undefined
        ? args
        : [...args, 0, '0', '', 0, task.trace], // ARGV[9..12] pad an unkeyed call up to its trace
    (reply) => {
      const [id, generation, code, entryId, holder] = reply as [string, number, number, string, string];
      const outcome = outcomeOf(code);
      const gen = Number(generation);
      if (outcome === 'created') return { outcome, id, generation: gen, entryId: entryId || undefined };
      if (outcome === 'existing') return { outcome, id, generation: gen };
      // Its fourth element names the owner to judge.
      if (outcome === 'judge-owner') return { outcome, id, owner: entryId };
      return { outcome, id, generation: gen, holder };
    },
  );
}
