import type { QueueKeys } from '../redis/keys';
import { ScriptCall } from '../redis/scripts';

export interface UncountArgs {
  readonly group: string;
  /** This worker: only entries still pending under it are given back. */
  readonly consumer: string;
  /** Entries let go unstarted, each with its deliveries as this worker holds it. */
  readonly entries: ReadonlyArray<{ readonly entryId: string; readonly deliveries: number }>;
}

/** @internal The typed call of uncount.lua: how many deliveries it gave back. */
export function uncountScript(keys: QueueKeys, a: UncountArgs): ScriptCall<number> {
  return new ScriptCall(
    'uncount',
    [keys.stream],
    [a.group, a.consumer, ...a.entries.flatMap((e) => [e.entryId, e.deliveries])],
    (reply) => Number(reply),
  );
}
