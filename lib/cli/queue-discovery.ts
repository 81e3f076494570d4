import type { Redis } from 'ioredis';
import { QueueKeys } from '../redis/keys';
import { scannedNodes } from '../redis/scanned-nodes';
import { MAX_PARTITIONS } from '../stream-queue.config';
import { isName } from '../task/resolved-task-options';

/** The keys that make a queue show up, by their QueueKeys field. */
const QUEUE_KEYS = { stream: 'stream', delayed: 'delayed', dlq: 'deadLetter' } as const;
/** A partition's tag content past the prefix: the queue, then `#<p>` for partitions p > 0. */
const TAG_QUEUE = /^(.+?)(?:#([1-9]\d{0,3}))?$/;

/**
 * @internal Queues under a prefix, found by SCAN (an operator's command, not a hot path) of every
 * master of a cluster (each holds the slots of some queues and partitions), else of the one Redis:
 * any queue with a stream, a delayed set or dead letters in any partition, each named once.
 */
export async function discoverQueues(redis: Redis, prefix: string): Promise<string[]> {
  const queues = new Set<string>();
  const escaped = `{${prefix}:`.replace(/[*?[\]\\]/g, '\\$&');
  for (const node of scannedNodes(redis)) {
    for (const suffix of Object.keys(QUEUE_KEYS) as (keyof typeof QUEUE_KEYS)[]) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', `${escaped}*}:${suffix}`, 'COUNT', 1000);
        cursor = next;
        for (const key of keys) {
          const queue = queueOfKey(prefix, key, suffix);
          if (queue !== undefined) queues.add(queue);
        }
      } while (cursor !== '0');
    }
  }
  return [...queues].sort();
}

/**
 * The queue whose partition `key` is (as keys.ts builds it), or undefined. The pattern also
 * matches keys that are no queue's: a key state or result whose user part ends in `}:stream`.
 */
function queueOfKey(prefix: string, key: string, suffix: keyof typeof QUEUE_KEYS): string | undefined {
  const head = `{${prefix}:`;
  const tail = `}:${suffix}`;
  if (!key.startsWith(head) || !key.endsWith(tail)) return undefined;
  const match = TAG_QUEUE.exec(key.slice(head.length, key.length - tail.length));
  if (!match || !isName(match[1])) return undefined;
  const partition = match[2] === undefined ? 0 : Number(match[2]);
  if (partition >= MAX_PARTITIONS) return undefined;
  // Built back the one way keys.ts builds it: nothing else is taken for a queue.
  return new QueueKeys(prefix, match[1], partition)[QUEUE_KEYS[suffix]] === key ? match[1] : undefined;
}
