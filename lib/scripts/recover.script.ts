import type { QueueKeys } from '../redis/keys';
import { ScriptCall, type ScriptEntry } from '../redis/scripts';

export interface RecoverArgs {
  readonly group: string;
  /** This worker: only entries still pending under it come back. */
  readonly consumer: string;
  readonly entryIds: readonly string[];
  /**
   * Each entry's deliveries as the caller read them, in entryIds' order: a resend of the call
   * after a lost reply then counts no delivery again (see recover.lua).
   */
  readonly deliveries?: readonly number[];
}

/** @internal The typed call of recover.lua: the entries still held, with their deliveries. */
export function recoverScript(keys: QueueKeys, a: RecoverArgs): ScriptCall<ScriptEntry[]> {
  return new ScriptCall(
    'recover',
    [keys.stream],
    [a.group, a.consumer, ...a.entryIds.flatMap((id, i) => [id, a.deliveries?.[i] ?? ''])],
    (reply) => reply as ScriptEntry[],
  );
}
