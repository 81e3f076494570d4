import type { Redis } from 'ioredis';
import type { QueueKeys } from '../redis/keys';
import { endStrandedCancelScript } from '../scripts/end-stranded-cancel.script';

/** Keys of the stranded cancels judged per sweep: more wait for the next one. */
const STRANDED_CANCELS_PAGE = 100;

/**
 * @internal Judges the partition's stranded cancels (cancel.lua, remove-task.lua, dead-letter.lua
 * of a replacement while the run it replaced ran: a running run left to its settle, stranded by a
 * purge or later when its entry is deleted): a run whose
 * owner's lease lapsed since is ended (end-stranded-cancel.lua), its waiters told; a key whose
 * settle came leaves the set. One SRANDMEMBER when the set is empty (nearly always); per key, a call
 * that names the owner and one that judges it (its liveness key only the state names, and a
 * script declares every key it touches). Returns how many runs it ended.
 */
export async function endStrandedCancels(
  redis: Redis,
  keys: QueueKeys,
  a: { readonly group: string; readonly stateTtlMs: number },
): Promise<number> {
  const members = await redis.srandmember(keys.strandedCancels, STRANDED_CANCELS_PAGE);
  let ended = 0;
  for (const key of members) {
    const first = await endStrandedCancelScript(keys, { ...a, key }).run(redis);
    // Another owner than the first call named: the state moved on meanwhile, judged next sweep.
    const judged =
      typeof first === 'string'
        ? first
        : await endStrandedCancelScript(keys, { ...a, key, judgedOwner: first.owner }).run(redis);
    if (judged === 'ended') ended += 1;
  }
  return ended;
}
