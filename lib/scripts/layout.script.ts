import type { QueueKeys } from '../redis/keys';
import { replyCodes, ScriptCall } from '../redis/scripts';
import { CONSUMER_GROUP } from '../stream-queue.constants';
import { GROUP_READ_LIMIT } from './queue-state.script';

/** @internal layout.lua's reply codes. */
export const LAYOUT_CODES = {
  1: 'done',
  2: 'already',
  0: 'not-empty',
  [-1]: 'not-this-switch',
  [-2]: 'too-many-groups',
} as const;
const outcomeOf = replyCodes('layout', LAYOUT_CODES);

/** @internal What one layout.lua step did, and the partition's layout record after it. */
export interface LayoutStepReply {
  readonly outcome: (typeof LAYOUT_CODES)[keyof typeof LAYOUT_CODES];
  readonly record: string;
  /** too-many-groups: how many consumer groups the partition's stream has. */
  readonly groups?: number;
  /** clean: how many key states it dropped (their waiting run's message gone). */
  readonly dropped?: number;
  /** clean, not-empty: the key state still holding a running run (its stream or entry purged under it). */
  readonly running?: string;
}

/**
 * @internal The typed call of layout.lua: one step of a count switch `from` -> `to` on one
 * partition; a commit raises the partition's sequence to `sequenceFloor` (default 0). A freeze
 * does not read a stream of more than GROUP_READ_LIMIT groups (too-many-groups). A clean judges
 * the partition's `keyStates` (full key names) and drops those whose waiting run is gone.
 */
export function layoutScript(
  keys: QueueKeys,
  a: {
    readonly step: 'freeze' | 'clean' | 'commit' | 'thaw';
    readonly from: number;
    readonly to: number;
    readonly sequenceFloor?: number;
    readonly keyStates?: readonly string[];
    /** thaw: the switch records a count Redis lost again; the record goes back absent (layout.lua ARGV[9]). */
    readonly lost?: boolean;
  },
): ScriptCall<LayoutStepReply> {
  return new ScriptCall(
    'layout',
    [
      keys.layout,
      keys.stream,
      keys.delayed,
      keys.deadLetter,
      keys.seq,
      keys.layoutFreezers,
      ...keys.flowKeys,
      ...(a.step === 'clean' ? (a.keyStates ?? []) : []),
    ],
    [
      a.step,
      a.from,
      a.to,
      CONSUMER_GROUP,
      keys.partition === 0 ? '1' : '0',
      keys.partition >= a.from ? '1' : '0',
      a.sequenceFloor ?? 0,
      GROUP_READ_LIMIT,
      a.lost ? '1' : '0',
    ],
    (reply) => {
      const [code, record, third, running] = reply as [number, string, number?, string?];
      const extra = third === undefined ? {} : a.step === 'clean' ? { dropped: third } : { groups: third };
      return { outcome: outcomeOf(code), record, ...extra, ...(running === undefined ? {} : { running }) };
    },
  );
}
