import type { QueueKeys } from '../redis/keys';
import { replyCodes, ScriptCall } from '../redis/scripts';

/** @internal sweep-lock-release.lua's reply codes. */
export const SWEEP_LOCK_RELEASE_CODES = { 1: 'released', 0: 'not-held' } as const;
export type SweepLockReleaseReply = (typeof SWEEP_LOCK_RELEASE_CODES)[keyof typeof SWEEP_LOCK_RELEASE_CODES];

/** @internal The typed call of sweep-lock-release.lua: compare-and-delete of the queue's sweep lock. */
export function sweepLockReleaseScript(
  keys: QueueKeys,
  a: { readonly token: string },
): ScriptCall<SweepLockReleaseReply> {
  return new ScriptCall(
    'sweep-lock-release',
    [keys.sweepLock],
    [a.token],
    replyCodes('sweep-lock-release', SWEEP_LOCK_RELEASE_CODES),
  );
}
