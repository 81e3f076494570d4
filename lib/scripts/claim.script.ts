import type { QueueKeys } from '../redis/keys';
import { replyCodes, ScriptCall } from '../redis/scripts';

/** @internal One delivered message for claim.lua's head check. */
export interface ClaimMessage {
  readonly entryId: string;
  readonly taskId: string;
  readonly generation: number;
  readonly key: string | undefined;
}

export interface ClaimArgs {
  readonly group: string;
  readonly consumer: string;
  /** How much later a run deferred behind an older generation of its key is retried. */
  readonly deferMs: number;
  readonly stateTtlMs: number;
  readonly messages: readonly ClaimMessage[];
}

/**
 * @internal claim.lua's verdict on one message: run it (a keyed run's fencing number, 0 for an
 * unkeyed one, and the entry's delivery count), or not: stale (acked and deleted), deferred
 * behind an older generation of its key, or no longer this consumer's.
 */
export type ClaimVerdict =
  | { readonly verdict: 'run'; readonly fence: number; readonly deliveries: number }
  | { readonly verdict: 'stale' | 'deferred' | 'not-ours' };

/** @internal claim.lua's reply codes. */
export const CLAIM_CODES = { 1: 'run', 0: 'stale', 2: 'deferred', [-1]: 'not-ours' } as const;
const verdictOf = replyCodes('claim', CLAIM_CODES);

/** @internal The typed call of claim.lua: one verdict per message, in order. */
export function claimScript(keys: QueueKeys, a: ClaimArgs): ScriptCall<ClaimVerdict[]> {
  const redisKeys = [keys.stream, keys.delayed, keys.seq];
  const args: (string | number)[] = [a.group, a.consumer, a.deferMs, a.stateTtlMs, keys.doneChannel];
  for (const m of a.messages) {
    args.push(m.entryId, m.taskId, m.generation, m.key === undefined ? '0' : '1');
    if (m.key !== undefined) redisKeys.push(keys.keyState(m.key));
  }
  return new ScriptCall('claim', redisKeys, args, (reply) => {
    const [codes, fences, deliveries] = reply as [number[], number[], number[]];
    return codes.map((code, i): ClaimVerdict => {
      const verdict = verdictOf(code);
      return verdict === 'run'
        ? { verdict, fence: Number(fences[i] ?? 0), deliveries: Number(deliveries[i] ?? 0) }
        : { verdict };
    });
  });
}
