import type { QueueKeys } from '../redis/keys';
import { ScriptCall } from '../redis/scripts';

/** An entry given back: its deliveries as this worker holds it, and a rated run's counted start. */
export interface UncountEntry {
  readonly entryId: string;
  readonly deliveries: number;
  /** A rate-limited run whose claim counted its start: its task id and that start (Redis ms). */
  readonly start?: { readonly taskId: string; readonly startedAt: number };
}

export interface UncountArgs {
  readonly group: string;
  /** This worker: only entries still pending under it are given back. */
  readonly consumer: string;
  /** Entries let go unstarted. */
  readonly entries: readonly UncountEntry[];
}

/** @internal The typed call of uncount.lua: how many deliveries it gave back. */
export function uncountScript(keys: QueueKeys, a: UncountArgs): ScriptCall<number> {
  // The flow keys only when a start goes back: the plain give-back stays on the stream alone.
  const starts = a.entries.some((e) => e.start !== undefined);
  return new ScriptCall(
    'uncount',
    starts ? [keys.stream, ...keys.flowKeys] : [keys.stream],
    [
      a.group,
      a.consumer,
      ...a.entries.flatMap((e) => [e.entryId, e.deliveries, e.start?.taskId ?? '', e.start?.startedAt ?? 0]),
    ],
    (reply) => Number(reply),
  );
}
