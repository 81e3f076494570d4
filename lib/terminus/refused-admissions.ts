import type { Redis } from 'ioredis';
import type { QueueKeys } from '../redis/keys';
import { sendNow } from '../redis/send-now';

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
 * promotion made it, and gone a few tries' time after the last): one GET per partition, written
 * at once on the master holding it. The record is the fleet's, so every worker of the queue reads
 * the same streak, and it ends however the task got in. `problem`: a read that failed or came late.
 * A record of another type (WRONGTYPE) or one that does not parse is no streak: anyone with Redis
 * access can write one, and the next refused try replaces it.
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
        if (!read.problem.startsWith('WRONGTYPE')) problem ??= read.problem;
        return;
      }
      const found = parseRecord(read.value);
      if (found && (!streak || found.forMs > streak.forMs)) streak = found;
    }),
  );
  return { streak, problem };
}

/** '<first ms> <last ms> <tries> <error>' (Redis ms), as flow.lua writes it; undefined for anything else. */
function parseRecord(text: unknown): RefusedStreak | undefined {
  const parts = typeof text === 'string' ? /^(\d+) (\d+) \d+ ([\s\S]*)$/.exec(text) : null;
  if (!parts) return undefined;
  const forMs = Number(parts[2]) - Number(parts[1]);
  if (!(forMs >= 0)) return undefined;
  return { forMs, message: `a waiting flow task's admission into the stream was refused: ${parts[3]}` };
}
