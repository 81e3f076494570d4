import type { Redis } from 'ioredis';
import type { QueueKeys } from '../redis/keys';
import { ScriptCall } from '../redis/scripts';

/** @internal read-due.lua's reply: members due by Redis's clock, and when the next one is due. */
export interface DueMembers {
  readonly members: string[];
  /**
   * Ms until the first member not returned, or the first rate wake, is due: 0 when the batch
   * was full, -1 when none is left.
   */
  readonly nextDueInMs: number;
  /** A rate limit's wake is due (flow control): promote.lua serves it. */
  readonly wakeDue: boolean;
}

/** @internal What a promotion did: members moved into the stream, and when to promote next. */
export interface PromoteReply {
  readonly moved: number;
  /** Ms until the next delayed member is due by Redis's clock, -1 when none is left. */
  readonly nextDueInMs: number;
  /**
   * The stream refused a waiting flow task's admission in this promotion (out of ids, say):
   * Redis's error, and the partition's refused tries in a row so far, whichever worker made them.
   * Caught where it is tried, in a settle or a promotion (includes/flow.lua): the task waits on
   * and a wake a second later tries again, each a promotion that succeeds. The health check
   * reads the streak from Redis (the flow key `refused`), not from these replies.
   */
  readonly admissionRefused?: { readonly message: string; readonly tries: number };
}

/** @internal The typed call of read-due.lua (read-only): up to `limit` due members, in due order. */
export function readDueScript(keys: QueueKeys, a: { readonly limit: number }): ScriptCall<DueMembers> {
  return new ScriptCall('read-due', [keys.delayed, keys.flowWake], [a.limit], (reply) => {
    const [members, next, wakeDue] = reply as [string[], number, number];
    return { members, nextDueInMs: Number(next), wakeDue: Number(wakeDue) === 1 };
  });
}

/**
 * @internal The typed call of promote.lua for members read by read-due.lua. Each member names its
 * key (if any) so the key's state is declared in KEYS, with its task's result key (where a dead
 * letter that ends the key's run stores its failure for result() waiters); the script re-checks
 * every member is still in the delayed set and due, so one moved or re-timed since the read is
 * skipped.
 */
export function promoteScript(
  keys: QueueKeys,
  a: {
    readonly members: readonly string[];
    readonly limit: number;
    readonly deadLetterMaxLen: number;
    /** How long the state of a key whose waiting run a dead letter ends is kept (resultTtlMs). */
    readonly stateTtlMs: number;
    /** Serve flow control's due wakes (rate limits), whatever the members. */
    readonly wakes?: boolean;
  },
): ScriptCall<PromoteReply> {
  const redisKeys = [keys.delayed, keys.stream, keys.deadLetter, keys.strandedCancels];
  const args: (string | number)[] = [a.deadLetterMaxLen, a.limit, a.stateTtlMs, keys.doneChannel];
  let flow = a.wakes === true;
  for (const member of a.members) {
    const { key, id, fl } = memberFields(member);
    // A result key only beside a key state: only a keyed run's dead letter is told to waiters.
    const resultOf = key !== undefined ? id : undefined;
    args.push(member, key ?? '', resultOf ?? '');
    if (key !== undefined) redisKeys.push(keys.keyState(key));
    if (resultOf !== undefined) redisKeys.push(keys.result(resultOf));
    flow ||= fl;
  }
  if (flow) redisKeys.push(...keys.flowKeys);
  return new ScriptCall('promote', redisKeys, args, (reply) => {
    const [moved, next, refused, tries] = reply as [number, number, string?, number?];
    const promoted = { moved: Number(moved), nextDueInMs: Number(next) };
    return refused === undefined
      ? promoted
      : { ...promoted, admissionRefused: { message: String(refused), tries: Number(tries) } };
  });
}

/**
 * @internal Promotes due delayed tasks: reads the due members, then moves them with every key
 * they touch declared. Two round trips only when something is due; one when nothing is.
 */
export async function promoteDue(
  redis: Redis,
  keys: QueueKeys,
  a: {
    readonly limit: number;
    readonly deadLetterMaxLen: number;
    /** How long the state of a key whose waiting run a dead letter ends is kept (resultTtlMs). */
    readonly stateTtlMs: number;
    /** A rate wake is expected due now: serve wakes in one round trip, reading no members. */
    readonly wakes?: boolean;
  },
): Promise<PromoteReply> {
  const { limit, deadLetterMaxLen, stateTtlMs } = a;
  if (a.wakes) {
    return promoteScript(keys, { members: [], limit, deadLetterMaxLen, stateTtlMs, wakes: true }).run(redis);
  }
  const due = await readDueScript(keys, { limit: a.limit }).run(redis);
  if (due.members.length === 0 && !due.wakeDue) return { moved: 0, nextDueInMs: due.nextDueInMs };
  return promoteScript(keys, {
    members: due.members,
    limit,
    deadLetterMaxLen,
    stateTtlMs,
    wakes: due.wakeDue,
  }).run(redis);
}

/**
 * The key and task id a delayed member names, as promote.lua reads them (undefined for none, ''
 * or no JSON), and whether it may go through flow control's admission (field fl). A member
 * JSON.parse refuses may still be one: cjson, which promote.lua decodes with, takes a raw control
 * character, a hex number or nan. Its flow keys are declared, so the script admits what it reads
 * as a flow member.
 */
function memberFields(member: string): { key?: string; id?: string; fl: boolean } {
  try {
    const m = JSON.parse(member) as { k?: unknown; id?: unknown; fl?: unknown } | null;
    // '' names none: promote.lua counts a declared key only for a key or id that is not ''.
    const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
    return { key: text(m?.k), id: text(m?.id), fl: m?.fl === '1' };
  } catch {
    return { fl: true };
  }
}
