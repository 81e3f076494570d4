import type { QueueKeys } from '../redis/keys';
import { ScriptCall } from '../redis/scripts';

/**
 * @internal The typed call of events-watch.lua: sets the mark of events() subscriber `id` for
 * `ttlMs` (announcing it to the workers), or takes it out with `ttlMs` 0 (telling them when no
 * mark is left); any mark lapsing more than `aheadMaxMs` ahead is pruned. Replies the number of
 * marks alive.
 */
export function eventsWatchScript(keys: QueueKeys, id: string, ttlMs: number, aheadMaxMs: number): ScriptCall<number> {
  return new ScriptCall(
    'events-watch',
    [keys.eventsWatch, keys.eventsWatchBefore],
    [id, ttlMs, keys.controlChannel, aheadMaxMs],
    (reply) => Number(reply),
  );
}
