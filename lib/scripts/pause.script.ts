import type { QueueKeys } from '../redis/keys';
import { ScriptCall } from '../redis/scripts';

/** @internal pause.lua's reply: whether this partition's record was written, and its version now. */
export interface PauseReply {
  readonly written: boolean;
  readonly version: number;
}

/**
 * @internal The typed call of pause.lua on one partition. `version` 0 draws the call's version
 * (partition 0 only); any other writes the record only if newer than the one stored.
 */
export function pauseScript(
  keys: QueueKeys,
  a: { readonly paused: boolean; readonly version: number },
): ScriptCall<PauseReply> {
  return new ScriptCall('pause', [keys.pause], [a.paused ? '1' : '0', a.version, keys.controlChannel], (reply) => {
    const [written, version] = reply as [number, number];
    return { written: written === 1, version: Number(version) };
  });
}
