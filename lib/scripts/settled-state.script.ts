import type { QueueKeys } from '../redis/keys';
import { ScriptCall } from '../redis/scripts';
import { CONSUMER_GROUP } from '../stream-queue.constants';
import { GROUP_READ_LIMIT } from './queue-state.script';

/** @internal Where a task's stream entry stands (settled-state.lua); `unread`: not read. */
export type EntryStanding = 'unread' | 'gone' | 'running' | 'queued' | 'acked';
const STANDINGS: Record<number, EntryStanding> = { [-1]: 'unread', 0: 'gone', 1: 'running', 2: 'queued', 3: 'acked' };

/** @internal settled-state.lua's snapshot of one task: each part undefined when not read. */
export interface SettledSnapshot {
  readonly stored: string | null;
  /** HMGET state, id, error, xid, sid of a keyed task's key state. */
  readonly keyState?: (string | null)[];
  /**
   * Whether the task holds its record in flow:tasks: read for a task that waited for a slot, and
   * (true only) for an unkeyed one whose entry has settled while a later run of it (a retry, a
   * redrive) waits, holds its slot or runs under flow control.
   */
  readonly waitRecord?: boolean;
  readonly entry: EntryStanding;
}

/**
 * @internal The typed call of settled-state.lua for a task (its key, entry id and whether it
 * waited for a slot from its enqueue); refused past GROUP_READ_LIMIT groups when its entry's
 * standing needs the group's read position (queueStateRefusal reads the refusal).
 */
export function settledStateScript(
  keys: QueueKeys,
  ref: { readonly id: string; readonly key?: string; readonly entryId?: string; readonly waited: boolean },
): ScriptCall<SettledSnapshot> {
  const third = ref.key !== undefined ? 'key' : ref.waited ? 'waited' : ref.entryId ? 'entry' : '';
  const redisKeys = [keys.result(ref.id), keys.stream];
  if (third === 'key') redisKeys.push(keys.keyState(ref.key!));
  if (third === 'waited' || third === 'entry') redisKeys.push(keys.flow.tasks);
  return new ScriptCall(
    'settled-state',
    redisKeys,
    [CONSUMER_GROUP, GROUP_READ_LIMIT, ref.id, ref.entryId ?? '', third],
    (reply) => {
      const [stored, keyState, waitRecord, entry] = reply as [string | null, (string | null)[] | null, number, number];
      return {
        stored,
        keyState: keyState ?? undefined,
        waitRecord: waitRecord < 0 ? undefined : waitRecord === 1,
        entry: STANDINGS[entry] ?? 'unread',
      };
    },
  );
}
