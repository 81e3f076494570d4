import type { Redis } from 'ioredis';
import type { QueueKeys } from '../redis/keys';
import { endStrandedCancelScript } from '../scripts/end-stranded-cancel.script';

/** Keys of the stranded cancels judged per sweep: more wait for the next one. */
const STRANDED_CANCELS_PAGE = 100;

/**
 * @internal Judges the partition's stranded cancels (cancel.lua, remove-task.lua, dead-letter.lua
 * of a replacement while the run it replaced ran: a running run left to its settle, stranded by a
 * purge or later when its entry is deleted): a run whose owner's lease lapsed since is ended
 * (end-stranded-cancel.lua), its waiters told; a key whose settle came leaves the set. One
 * SRANDMEMBER when the set is empty (nearly always); per key, a call that names the owner and one
 * that judges it (its liveness key only the state names, and a script declares every key it
 * touches), each step's calls for the page sent together. Returns how many runs it ended.
 */
export async function endStrandedCancels(
  redis: Redis,
  keys: QueueKeys,
  a: { readonly group: string; readonly stateTtlMs: number },
): Promise<number> {
  const members = await redis.srandmember(keys.strandedCancels, STRANDED_CANCELS_PAGE);
  // Each step together, one round trip for the page (each call judges its own key as it is):
  // many cancelled handlers that ignore their abort keep their keys in the set sweep after sweep.
  const firsts = await Promise.all(members.map((key) => endStrandedCancelScript(keys, { ...a, key }).run(redis)));
  // Another owner than the first call named: the state moved on meanwhile, judged next sweep.
  const judged = await Promise.all(
    firsts.map((first, i) =>
      typeof first === 'string'
        ? first
        : endStrandedCancelScript(keys, { ...a, key: members[i], judgedOwner: first.owner }).run(redis),
    ),
  );
  return judged.filter((outcome) => outcome === 'ended').length;
}
