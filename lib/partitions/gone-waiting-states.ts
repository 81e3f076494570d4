import type { Redis } from 'ioredis';
import type { QueueKeys } from '../redis/keys';
import { scannedNodes } from '../redis/scanned-nodes';
import { layoutScript } from '../scripts/layout.script';

/** Key states judged per layout.lua 'clean' call. */
const CLEAN_BATCH = 100;

/**
 * @internal A count change's clean step, once every partition of both layouts is frozen (before
 * the commits): drops the key states whose waiting run's message is gone (layout.lua 'clean').
 * An operator's XDEL of a queued entry leaves its state without a TTL; the freeze reads streams,
 * not key states, and a key the new count maps to another partition gets no enqueue in the old
 * one any more to replace it. Key states are not indexed (that would cost every enqueue and
 * settle), so they are found by SCAN of every master (each holds some partitions' slots), one
 * pass for all the queue's partitions: a cost paid at a count change only, growing with the
 * keys of the whole Redis. Returns how many it dropped; throws RunningKeyState for a key state
 * still holding a running run (then the switch thaws).
 */
export async function dropGoneWaitingStates(
  redis: Redis,
  partitions: readonly QueueKeys[],
  from: number,
  to: number,
): Promise<number> {
  let dropped = 0;
  for (const [p, states] of await keyStatesOf(redis, partitions)) {
    for (let i = 0; i < states.length; i += CLEAN_BATCH) {
      const keyStates = states.slice(i, i + CLEAN_BATCH);
      const reply = await layoutScript(partitions[p], { step: 'clean', from, to, keyStates }).run(redis);
      dropped += reply.dropped ?? 0;
      if (reply.running !== undefined) throw new RunningKeyState(p, reply.running);
    }
  }
  return dropped;
}

/**
 * @internal The clean found a key state still holding a running run in partition `partition`
 * (layout.lua): its stream or entry was purged under it, its handler may still be going, and the
 * key's next enqueue under the new count would run beside it. The switch must not commit.
 */
export class RunningKeyState extends Error {
  constructor(
    readonly partition: number,
    readonly keyState: string,
  ) {
    super(`partition ${partition}'s key state ${keyState} still holds a running run`);
  }
}

/** The key states of `partitions` (all of one queue), by partition index. */
async function keyStatesOf(redis: Redis, partitions: readonly QueueKeys[]): Promise<Map<number, string[]>> {
  const byTag = new Map(partitions.map((k, p) => [k.tag, p]));
  const { prefix, queue } = partitions[0];
  // Partition 0's tag is {prefix:queue}, the others' {prefix:queue#p}: one pattern for all (it
  // matches other queues whose name starts alike too, left out by their tag).
  const match = `{${`${prefix}:${queue}`.replace(/[*?[\]\\]/g, '\\$&')}*}:key:*`;
  const found = new Map<number, Set<string>>();
  for (const node of scannedNodes(redis)) {
    let cursor = '0';
    do {
      const [next, names] = await node.scan(cursor, 'MATCH', match, 'COUNT', 1000);
      cursor = next;
      for (const name of names) {
        const p = byTag.get(name.slice(0, name.indexOf('}') + 1));
        if (p === undefined || !name.startsWith(partitions[p].keyStatePrefix)) continue;
        if (!found.has(p)) found.set(p, new Set());
        found.get(p)!.add(name);
      }
    } while (cursor !== '0');
  }
  return new Map([...found].map(([p, names]) => [p, [...names].sort()]));
}
