import type { QueueKeys } from '../redis/keys';
import { ScriptCall } from '../redis/scripts';

/** @internal What one trim-rate-starts.lua call did: records removed, and where the next one starts. */
export interface TrimRateStartsReply {
  readonly removed: number;
  /** '' once the walk reached the end of the set (the next call starts over). */
  readonly cursor: string;
}

/** @internal The typed call of trim-rate-starts.lua: one page of the walk over a partition's rate starts. */
export function trimRateStartsScript(
  keys: QueueKeys,
  a: { readonly cursor: string; readonly count: number },
): ScriptCall<TrimRateStartsReply> {
  return new ScriptCall('trim-rate-starts', keys.flowKeys, [a.cursor, a.count], (reply) => {
    const [removed, cursor] = reply as [number, string];
    return { removed: Number(removed), cursor: String(cursor) };
  });
}
