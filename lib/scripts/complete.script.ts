import { entryIdRange } from '../redis/entry-id';
import type { QueueKeys } from '../redis/keys';
import { replyCodes, ScriptCall } from '../redis/scripts';

/** @internal One successful run for complete.lua. */
export interface CompleteRun {
  readonly entryId: string;
  readonly taskId: string;
  /** The encoded result; '' for a handler that returned nothing. */
  readonly result: string;
  readonly key?: string;
  /** The run's generation (0: never stale). */
  readonly generation: number;
  readonly resultTtlMs: number;
  /** Store the result even when void (a keyed run, or one that went through the delayed set). */
  readonly keepResult: boolean;
  /** A periodic run's successor as JSON (see includes/successor.lua), or ''. */
  readonly successor: string;
  /** Admitted under flow control (field fl): its settle releases its slots. */
  readonly flow?: boolean;
}

export interface CompleteArgs {
  readonly group: string;
  readonly consumer: string;
  readonly stateTtlMs: number;
  /** The result TTL of runs that do not set their own (their call is the smallest). */
  readonly defaultResultTtlMs: number;
  readonly runs: readonly CompleteRun[];
}

/** @internal complete.lua's verdict on one run. */
export type CompleteVerdict = 'completed' | 'superseded' | 'refused' | 'not-pending';

/** @internal complete.lua's reply codes. */
export const COMPLETE_CODES = { 1: 'completed', 0: 'superseded', [-1]: 'refused', [-2]: 'not-pending' } as const;
const verdictOf = replyCodes('complete', COMPLETE_CODES);

/**
 * @internal The typed call of complete.lua for a batch (at least one run). Declares every key the
 * script may write: a run's result key when it has a result or keeps one, then its key state
 * when it has a key (the script reads KEYS in that same order, by the same rule).
 */
export function completeScript(keys: QueueKeys, a: CompleteArgs): ScriptCall<CompleteVerdict[]> {
  const redisKeys = [keys.stream, keys.delayed, keys.seq];
  // Flat, four values a run (complete.lua's ARGV[8]): one array for the script to decode.
  const runs: unknown[] = [];
  for (const r of a.runs) {
    const keep = r.keepResult || r.key !== undefined;
    if (r.key === undefined && r.resultTtlMs === a.defaultResultTtlMs && !keep) {
      // A flow run with nothing else to say sends 1 for { f: 1 }: one object fewer to decode.
      runs.push(r.entryId, r.taskId, r.result, r.flow ? 1 : 0);
    } else {
      // Only what differs from the defaults (generation 0, no key, the batch's result TTL):
      // the script decodes every run, and a flow run's settle is otherwise all defaults.
      const options = {
        g: r.generation || undefined,
        k: r.key === undefined ? undefined : 1,
        t: r.resultTtlMs === a.defaultResultTtlMs ? undefined : r.resultTtlMs,
        r: keep ? 1 : undefined,
        s: r.successor || undefined,
        f: r.flow ? 1 : undefined,
      };
      runs.push(r.entryId, r.taskId, r.result, options);
    }
    if (r.result !== '' || keep) redisKeys.push(keys.result(r.taskId));
    if (r.key !== undefined) redisKeys.push(keys.keyState(r.key));
  }
  if (a.runs.some((r) => r.flow)) redisKeys.push(...keys.flowKeys);
  const [low, high] = entryIdRange(a.runs.map((r) => r.entryId));
  const args = [a.group, a.consumer, keys.doneChannel, a.stateTtlMs, low, high, a.defaultResultTtlMs];
  return new ScriptCall('complete', redisKeys, [...args, JSON.stringify(runs)], (reply) =>
    (reply as number[]).map(verdictOf),
  );
}
