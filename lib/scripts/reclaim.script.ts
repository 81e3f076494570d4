import type { QueueKeys } from '../redis/keys';
import { ScriptCall, type ScriptEntry } from '../redis/scripts';

export interface ReclaimArgs {
  readonly group: string;
  /** The sweeping worker, new owner. */
  readonly consumer: string;
  readonly maxDeliveries: number;
  /**
   * Pending entries, the owner the caller judged dead and the entry's deliveries as it read them
   * (by which a resend of the call after a lost reply knows what its first execution took).
   */
  readonly candidates: ReadonlyArray<{
    readonly entryId: string;
    readonly owner: string;
    readonly deliveries?: number;
  }>;
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
    [a.group, a.consumer, a.maxDeliveries, ...a.candidates.flatMap((c) => [c.entryId, c.owner, c.deliveries ?? ''])],
    (reply) => {
      const [claimed, poison, dropped] = reply as [ScriptEntry[], ScriptEntry[], number];
      return { claimed, poison, dropped: Number(dropped) };
    },
  );
}
