import type { Redis } from 'ioredis';
import type { QueueKeys } from '../redis/keys';
import { sendNow } from '../redis/send-now';
import { logText } from '../consumer/log-text';

/**
 * includes/flow.lua's REFUSED_TTL_MS: the TTL every refused try gives the record. One without a
 * TTL, or with a longer one, no try wrote: no try renews it and nothing ends it, so taken for a
 * streak it said the queue failing for good on every worker, restarts or not.
 */
const REFUSED_TTL_MS = 3_000;
/** The most characters of a record's error text the message quotes (Redis's own are far shorter). */
const REFUSED_TEXT_MAX = 200;

/**
 * Replies that are no answer about the record: a key of another type (anyone can SET one, and the
 * next refused try replaces it), or a redirection, the record's slot migrating (ASK: the master
 * no longer holds a missing key) or moved (MOVED, before the slot map is refreshed). Redirected,
 * the check reads no streak this time (the GET bypasses the Cluster client, which follows them),
 * rather than call Redis down while the queue's keys are served: the PING judges the node.
 */
const NO_ANSWER = /^(WRONGTYPE|ASK|MOVED)\b/;

/** @internal A reply raced against the check's deadline: its value, or why there is none. */
export type Raced = <T>(reply: Promise<T>) => Promise<{ value: T } | { problem: string }>;

/** @internal A partition's streak of refused flow admissions: how long it spans, and why. */
export interface RefusedStreak {
  readonly forMs: number;
  readonly message: string;
}

/**
 * @internal The longest streak of refused admissions of waiting flow tasks among a queue's
 * partitions, as each partition records it in Redis (the flow key `refused`, written by
 * includes/flow.lua noteRefusedAdmission at every refused try, whichever worker's settle or
 * promotion made it, and gone a few tries' time after the last): one GET per partition (and its
 * PTTL where it holds a record), written at once on the master holding it. The record is the
 * fleet's, so every worker of the queue reads the same streak, and it ends however the task got
 * in. `problem`: a read that failed or came late (not NO_ANSWER's). A record that does not parse,
 * or one without flow.lua's TTL (REFUSED_TTL_MS), is no streak: anyone with Redis access can
 * write one, and the next refused try replaces it.
 */
export async function readRefusedAdmissions(
  partitions: readonly QueueKeys[],
  masterServing: (key: string) => Promise<Redis>,
  race: Raced,
): Promise<{ streak?: RefusedStreak; problem?: string }> {
  let streak: RefusedStreak | undefined;
  let problem: string | undefined;
  await Promise.all(
    partitions.map(async (keys) => {
      const node = await race(masterServing(keys.flow.refused));
      if ('problem' in node) return void (problem ??= node.problem);
      // A connection that is not ready would queue the GET: the PING says it is down.
      if (node.value.status !== 'ready') return;
      const read = await race(sendNow(node.value, 'get', [keys.flow.refused]));
      if ('problem' in read) {
        if (!NO_ANSWER.test(read.problem)) problem ??= read.problem;
        return;
      }
      const found = parseRecord(read.value);
      if (!found) return;
      // Only a record that lives as flow.lua's do (read only when there is one: no cost otherwise).
      const ttl = await race(sendNow(node.value, 'pttl', [keys.flow.refused]));
      if ('problem' in ttl) {
        if (!NO_ANSWER.test(ttl.problem)) problem ??= ttl.problem;
        return;
      }
      if (!(Number(ttl.value) > 0 && Number(ttl.value) <= REFUSED_TTL_MS)) return;
      if (!streak || found.forMs > streak.forMs) streak = found;
    }),
  );
  return { streak, problem };
}

/**
 * '<first ms> <last ms> <tries> <error>' (Redis ms, 15 digits at most, as flow.lua writes them);
 * undefined for anything else. The error text, anyone's in a hand-written record, is cut and
 * escaped as a log line quotes text read from Redis: the message is logged and shown.
 */
function parseRecord(text: unknown): RefusedStreak | undefined {
  const parts = typeof text === 'string' ? /^(\d{1,15}) (\d{1,15}) \d+ ([\s\S]*)$/.exec(text) : null;
  if (!parts) return undefined;
  const forMs = Number(parts[2]) - Number(parts[1]);
  if (!(forMs >= 0)) return undefined;
  const error = logText(parts[3], REFUSED_TEXT_MAX);
  return { forMs, message: `a waiting flow task's admission into the stream was refused: ${error}` };
}
