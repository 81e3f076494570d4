import type { QueueKeys } from '../redis/keys';
import { replyCodes, ScriptCall } from '../redis/scripts';

/**
 * @internal pause.lua's reply: whether this partition's record was written ('refused': a newer
 * version holds it; 'no-version-left': none is left above it, partition 0 only), and the version
 * it holds now.
 */
export interface PauseReply {
  readonly outcome: 'written' | 'refused' | 'no-version-left';
  readonly version: number;
}

const outcome = replyCodes('pause', { 1: 'written', 0: 'refused', [-1]: 'no-version-left' } as const);

/**
 * @internal The typed call of pause.lua on one partition. `version` 0 draws the call's version
 * (partition 0 only), above `floor`, once the caller may publish to `others`' control channels
 * too (the other partitions'); any other writes the record only if newer than the one stored.
 */
export function pauseScript(
  keys: QueueKeys,
  a: {
    readonly paused: boolean;
    readonly version: number;
    readonly floor?: number;
    readonly others?: readonly QueueKeys[];
  },
): ScriptCall<PauseReply> {
  return new ScriptCall(
    'pause',
    [keys.pause],
    [
      a.paused ? '1' : '0',
      a.version,
      keys.controlChannel,
      a.floor ?? 0,
      ...(a.others ?? []).map((k) => k.controlChannel),
    ],
    (reply) => {
      const [code, version] = reply as [number, number];
      return { outcome: outcome(code), version: Number(version) };
    },
  );
}
