import type { QueueKeys } from '../redis/keys';
import { ScriptCall, type ScriptEntry } from '../redis/scripts';

export interface ReclaimArgs {
  readonly group: string;
  /** The sweeping worker, new owner. */
  readonly consumer: string;
  readonly maxDeliveries: number;
  /** Pending entries and the owner the caller judged dead. */
  readonly candidates: ReadonlyArray<{ readonly entryId: string; readonly owner: string }>;
}

/** @internal What reclaim.lua took: runnable entries, poison ones (to dead-letter), and how many it dropped. */
export interface ReclaimReply {
  readonly claimed: ScriptEntry[];
  readonly poison: ScriptEntry[];
  readonly dropped: number;
}

/** @internal The typed call of reclaim.lua. */
export function reclaimScript(keys: QueueKeys, a: ReclaimArgs): ScriptCall<ReclaimReply> {
  return new ScriptCall(
    'reclaim',
    [keys.stream, ...a.candidates.map((c) => keys.alive(c.owner))],
    [a.group, a.consumer, a.maxDeliveries, ...a.candidates.flatMap((c) => [c.entryId, c.owner])],
    (reply) => {
      const [claimed, poison, dropped] = reply as [ScriptEntry[], ScriptEntry[], number];
      return { claimed, poison, dropped: Number(dropped) };
    },
  );
}
