import type { QueueKeys } from '../redis/keys';
import { replyCodes, ScriptCall } from '../redis/scripts';
import { flowLimitsText, type FlowLimits } from './enqueue-flow.script';

/** @internal One delivered message for claim.lua's head check. */
export interface ClaimMessage {
  readonly entryId: string;
  readonly taskId: string;
  readonly generation: number;
  readonly key: string | undefined;
  /**
   * A flow run under a rate limit (field rl, or this worker's definition has a rate; never
   * keyed): its start is counted here, or it waits.
   */
  readonly rated?: boolean;
  /** This worker's limits of the task, when they have a rate: they gate the start, not the recorded ones. */
  readonly ownLimits?: FlowLimits;
  /**
   * A rated run claimed again before its handler began (a pause held it, or a busy handler): the
   * start (Redis ms) its last claim counted, moved to now while still in its window.
   */
  readonly earlierStart?: number;
  /**
   * The owner of the key's earlier run a first claim named (OwnerToJudgeAtClaim): its liveness
   * key is declared, and that run holds this one back while the key holds the lease that run
   * was claimed under.
   */
  readonly judgedOwner?: string;
}

export interface ClaimArgs {
  readonly group: string;
  readonly consumer: string;
  /** How much later a run deferred behind an older generation of its key is retried. */
  readonly deferMs: number;
  readonly stateTtlMs: number;
  /**
   * The value of this consumer's liveness key that it knows as its own (Lease.livenessSince of
   * the time the claim is sent), '' (the default) when it knows none: a keyed run is marked
   * running only while the key holds it (or, for '', is gone), else its verdict is 'unproven'.
   */
  readonly liveness?: string;
  /**
   * The queue's partition count as the worker maps it (1 when not given): its `ownLimits` are its
   * partition's share under that count, and gate a start only while the layout record holds it.
   */
  readonly partitions?: number;
  readonly messages: readonly ClaimMessage[];
}

/**
 * @internal claim.lua's verdict on one message: run it (a keyed run's fencing number, 0 for an
 * unkeyed one, and the entry's delivery count; for a rated run its start on Redis's clock and
 * the ms until that start leaves its shortest window), or not: stale (acked and deleted),
 * deferred behind an older generation of its key, no longer this consumer's, or wait `waitMs`
 * for a rate token (still this consumer's: claim it again then), or unproven: a keyed run whose
 * consumer's liveness key holds a value it does not know as its own (`liveness`), written by its
 * heartbeat after a lapse and not yet confirmed: nothing written, the key's run stays queued, its
 * delivery this consumer's (not started: given back, for its recovery); or no-fence: a keyed run
 * whose fencing number would be past 2^53-1 (the queue's sequence was set near it), which the
 * script cannot hold exactly: nothing written but the draw, given back the same way.
 */
export type ClaimVerdict =
  | {
      readonly verdict: 'run';
      readonly fence: number;
      readonly deliveries: number;
      readonly startedAt?: number;
      readonly windowEndsInMs?: number;
    }
  | { readonly verdict: 'wait'; readonly waitMs: number }
  | { readonly verdict: 'stale' | 'deferred' | 'not-ours' | 'unproven' | 'no-fence' };

/**
 * @internal claim.lua wrote nothing for the message: the key's earlier run has nothing left in
 * the group but `owner` (its stream was deleted under it), and holds this one back only while
 * the lease `owner` claimed it under holds. Claim it again with `judgedOwner` (see send-claim.ts).
 */
export interface OwnerToJudgeAtClaim {
  readonly verdict: 'judge-owner';
  readonly owner: string;
}

/** @internal A verdict as claim.lua answers it: the first call may name an owner to judge. */
export type ClaimScriptVerdict = ClaimVerdict | OwnerToJudgeAtClaim;

/** @internal claim.lua's reply codes. */
export const CLAIM_CODES = {
  1: 'run',
  0: 'stale',
  2: 'deferred',
  [-1]: 'not-ours',
  3: 'wait',
  4: 'judge-owner',
  5: 'unproven',
  6: 'no-fence',
} as const;
const verdictOf = replyCodes('claim', CLAIM_CODES);

/** @internal The typed call of claim.lua: one verdict per message, in order. */
export function claimScript(keys: QueueKeys, a: ClaimArgs): ScriptCall<ClaimScriptVerdict[]> {
  // The consumer's own liveness key: a keyed run records the lease it runs under (claim.lua).
  const redisKeys = [keys.stream, keys.delayed, keys.seq, keys.alive(a.consumer)];
  const args: (string | number)[] = [
    a.group,
    a.consumer,
    a.deferMs,
    a.stateTtlMs,
    keys.doneChannel,
    a.liveness ?? '',
    a.partitions ?? 1,
  ];
  for (const m of a.messages) {
    const rated = m.key === undefined && m.rated === true;
    // A rated run has no generation: its place carries the start to move (claim.lua).
    args.push(
      m.entryId,
      m.taskId,
      rated ? (m.earlierStart ?? 0) : m.generation,
      m.key !== undefined ? keyedKind(m) : rated ? ratedKind(m) : '0',
    );
    if (m.key !== undefined) redisKeys.push(keys.keyState(m.key));
    if (m.key !== undefined && m.judgedOwner !== undefined) redisKeys.push(keys.alive(m.judgedOwner));
  }
  if (a.messages.some((m) => m.rated && m.key === undefined)) redisKeys.push(keys.layout, ...keys.flowKeys);
  return new ScriptCall('claim', redisKeys, args, (reply) => {
    const [codes, fences, deliveries, starts, waits, owners] = reply as [
      number[],
      number[],
      number[],
      number[]?,
      number[]?,
      string[]?,
    ];
    return codes.map((code, i): ClaimScriptVerdict => {
      const verdict = verdictOf(code);
      if (verdict === 'judge-owner') return { verdict, owner: String(owners?.[i] ?? '') };
      if (verdict === 'wait') return { verdict, waitMs: Number(waits?.[i] ?? 0) };
      if (verdict !== 'run') return { verdict };
      const run = { verdict, fence: Number(fences[i] ?? 0), deliveries: Number(deliveries[i] ?? 0) };
      const startedAt = Number(starts?.[i] ?? 0);
      return startedAt > 0 ? { ...run, startedAt, windowEndsInMs: Number(waits?.[i] ?? 0) } : run;
    });
  });
}

/** A keyed message's kind for claim.lua: '1', or 'j' and the owner it judges. */
function keyedKind(m: ClaimMessage): string {
  return m.judgedOwner === undefined ? '1' : `j${m.judgedOwner}`;
}

/** A rated message's kind for claim.lua: 'r', then the worker's limits record when it has one. */
function ratedKind(m: ClaimMessage): string {
  return m.ownLimits ? `r${flowLimitsText(m.ownLimits)}` : 'r';
}
