import { randomInt } from 'node:crypto';
import { QueueKeys } from '../redis/keys';
import { PERIODIC_KEY_PREFIX } from '../task/schedule';

/**
 * @internal One logical queue spread over `count` partitions, each a hash tag (a slot) of its own.
 * A task key always maps to the same partition (a stable hash of the key), so its generation,
 * lease and state stay in one slot; periodic keys live in partition 0 under every count, so a
 * periodic chain never moves when the count changes. Unkeyed tasks go round-robin from a random
 * start, so many producers together spread evenly too.
 */
export class QueuePartitions {
  readonly all: readonly QueueKeys[];
  private next: number;

  constructor(
    readonly prefix: string,
    readonly queue: string,
    readonly count: number,
  ) {
    this.all = Array.from({ length: count }, (_, p) => new QueueKeys(prefix, queue, p));
    this.next = count > 1 ? randomInt(count) : 0;
  }

  /** The keys of partition `p` (the seam a cluster bench or a rebalancer builds on). */
  keysFor(partition: number): QueueKeys {
    const keys = this.all[partition];
    if (!keys) throw new RangeError(`Queue "${this.queue}" has no partition ${partition} (it has ${this.count}).`);
    return keys;
  }

  /**
   * The keys of partition `p` as a handle recorded it: the count may have changed since, even to
   * fewer partitions, and a finished task's result and state stay where it ran.
   */
  recorded(partition: number): QueueKeys {
    return this.all[partition] ?? new QueueKeys(this.prefix, this.queue, partition);
  }

  /** The partition of a task key (see partitionOfKey). */
  forKey(key: string): QueueKeys {
    return this.all[partitionOfKey(key, this.count)];
  }

  /**
   * The partition of a flow group's tasks (see partitionOfGroup): its slots, waiting room and
   * rate windows live there, so a group limit is one atomic count.
   */
  forGroup(group: string | undefined): QueueKeys {
    return this.all[partitionOfGroup(group, this.count)];
  }

  /** The partition the next unkeyed task goes to. */
  nextUnkeyed(): QueueKeys {
    if (this.count === 1) return this.all[0];
    const keys = this.all[this.next];
    this.next = (this.next + 1) % this.count;
    return keys;
  }
}

/**
 * @internal The partition of a task key among `count`: FNV-1a (32 bits) of its UTF-8 bytes,
 * modulo the count. Stable across processes and versions: changing it would move live keys.
 */
export function partitionOfKey(key: string, count: number): number {
  if (count === 1 || key.startsWith(PERIODIC_KEY_PREFIX)) return 0;
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(key, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % count;
}

/**
 * @internal The partition of a flow group among `count` (`undefined` or '' is the ungrouped
 * group): partitionOfKey of `group:<group>`, a name no task key's meaning depends on (a group
 * named like a periodic key is hashed as any other). Stable as partitionOfKey is: a group's tasks
 * under one count all go to one partition, and layout.lua changes the count only once no flow
 * state is left.
 */
export function partitionOfGroup(group: string | undefined, count: number): number {
  return partitionOfKey(`group:${group ?? ''}`, count);
}
