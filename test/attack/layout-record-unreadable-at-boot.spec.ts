import { PartitionLayoutError } from '../../lib';
import { QueueKeys } from '../../lib/redis/keys';
import { TERMINAL_UNSAFE } from '../../lib/terminal-unsafe';
import { partitioned, usePartitionApps } from '../partitions/partition-apps';

/**
 * Bootstrap makes the stored layout record this process's count (PartitionLayouts.adopt), and
 * anyone can SET the record. A record of `x` gave `from = NaN`: bootstrap committed nothing,
 * logged "partitions changed from NaN to 1" and started, and every keyed enqueue was then refused
 * (the scripts check the record) until someone deleted it; one of `<n>>1` had it freeze n
 * partitions (n = 99,999,999 builds their keys until the heap is gone). A record no version writes now fails bootstrap with a
 * PartitionLayoutError naming the key and the record, quoted, and nothing is written. A review
 * finding; the spec failed.
 */
describe('attack: bootstrap over a layout record no version writes', () => {
  const apps = usePartitionApps();
  const { redis } = apps;

  it.each([
    ['x', 1, '"x"'],
    ['0', 2, '"0"'],
    ['2\x1b[2J\u202e', 2, '"2\\u001b[2J\\u202e"'],
    ['2000>1', 1, '"2000>1"'],
    ['3>1025', 1, '"3>1025"'],
  ])(
    '%j with %i partitions: refused, the key and the record quoted, nothing written',
    async (record, count, quoted) => {
      const key = new QueueKeys(apps.prefix, 'default').layout;
      await redis.set(key, record);
      const refused = await apps.bootError(partitioned(count));
      expect(refused).toBeInstanceOf(PartitionLayoutError);
      expect(refused).toMatchObject({ queue: 'default', stored: record, configured: count });
      const message = (refused as Error).message;
      expect([message.includes(JSON.stringify(key)), message.includes(quoted), message.match(TERMINAL_UNSAFE)]).toEqual(
        [true, true, null],
      );
      expect(await redis.get(key)).toBe(record);
      expect(await redis.keys(`{${apps.prefix}:default*`)).toEqual([key]);
    },
  );

  it('control: a record a version writes boots and is adopted', async () => {
    for (const keys of apps.partitions(2).all) await redis.set(keys.layout, '2');
    await apps.start(partitioned(3));
    expect(await Promise.all(apps.partitions(3).all.map((k) => redis.get(k.layout)))).toEqual(['3', '3', '3']);
  });
});
