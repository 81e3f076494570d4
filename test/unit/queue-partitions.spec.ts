import { partitionOfKey, QueuePartitions } from '../../lib/partitions/queue-partitions';
import { QueueKeys } from '../../lib/redis/keys';

describe('QueuePartitions', () => {
  it("keeps partition 0 on the queue's own hash tag; gives every other partition a tag of its own", () => {
    const partitions = new QueuePartitions('sq', 'emails', 3);
    expect(partitions.keysFor(0).stream).toBe('{sq:emails}:stream');
    expect(partitions.keysFor(0)).toEqual(new QueueKeys('sq', 'emails'));
    expect(partitions.keysFor(2).stream).toBe('{sq:emails#2}:stream');
    expect(partitions.keysFor(2).keyState('k')).toBe('{sq:emails#2}:key:k');
    expect(partitions.keysFor(2).layout).toBe('{sq:emails#2}:layout');
    expect(() => partitions.keysFor(3)).toThrow(RangeError);
  });

  it('maps a key by a stable hash: the same partition in every process and version', () => {
    // Pinned values: changing the hash would move live keys to another partition.
    expect([partitionOfKey('a', 16), partitionOfKey('user:42', 16), partitionOfKey('é', 16)]).toEqual([12, 2, 1]);
    expect(partitionOfKey('anything', 1)).toBe(0);
    const partitions = new QueuePartitions('sq', 'q', 8);
    expect(partitions.forKey('user:42')).toBe(partitions.forKey('user:42'));
  });

  it('keeps periodic keys in partition 0 under every count', () => {
    for (const count of [2, 7, 1024]) expect(partitionOfKey('periodic:report', count)).toBe(0);
  });

  it('spreads keys and unkeyed tasks evenly', () => {
    const partitions = new QueuePartitions('sq', 'q', 4);
    const unkeyed = Array.from({ length: 400 }, () => partitions.nextUnkeyed().partition);
    expect([0, 1, 2, 3].map((p) => unkeyed.filter((x) => x === p).length)).toEqual([100, 100, 100, 100]);
    const keyed = Array.from({ length: 4_000 }, (_, i) => partitionOfKey(`order-${i}`, 4));
    for (const p of [0, 1, 2, 3]) expect(keyed.filter((x) => x === p).length).toBeGreaterThan(900);
  });
});
