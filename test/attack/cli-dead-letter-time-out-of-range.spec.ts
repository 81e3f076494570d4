import { EXIT } from '../../lib/cli/cli-commands';
import { storedPartitions } from '../../lib/partitions/stored-partitions';
import { FleetReads } from '../../lib/client/fleet-reads';
import { cliQueueForSuite } from '../fixtures/cli-queue';

/**
 * A listed task's `at` is its entry id's time, and anyone can XADD a dead letter with an id of
 * their choosing: at 18446744073709551615-0 (the largest id Redis takes) that time is past what a
 * Date holds (8.64e15 ms), `at` was an Invalid Date, and `dlq list` printing it threw
 * "RangeError: Invalid time value" (exit 1, no table). Dead letters list newest first, so that
 * one dead letter stopped every first page. So did a delayed task's `dueAt` from a score of
 * `inf`. A time no Date holds is now left out (undefined), as for an entry without one. A review
 * finding; the tests failed.
 */
describe("attack: a dead letter whose id's time no Date holds", () => {
  const queue = cliQueueForSuite(async (redis, keys) => {
    for (const id of ['1700000000000-0', '8640000000000001-0', '18446744073709551615-0'])
      await redis.xadd(keys.deadLetter, id, 'id', `t-${id}`, 'n', 'echo', 'p', '1', 'a', '1', 'reason', 'r');
  });
  const cli = (argv: string[]) => queue.cli(['dlq', 'list', ...argv]);

  it('dlq list prints every dead letter, with no time where none can be shown', async () => {
    const { code, out, err } = await cli([]);
    expect({ code, err }).toEqual({ code: EXIT.ok, err: '' });
    const rows = out.trimEnd().split('\n').slice(2);
    expect(rows.map((row) => row.split(/\s+/).slice(0, 3))).toEqual([
      ['18446744073709551615-0', '0', 'echo'],
      ['8640000000000001-0', '0', 'echo'],
      ['1700000000000-0', '0', '2023-11-14T22:13:20.000Z'],
    ]);
  });

  it('--json leaves their `at` out', async () => {
    const { code, out } = await cli(['--json']);
    const { tasks } = JSON.parse(out) as { tasks: { deadLetterId: string; at?: string }[] };
    expect({ code, at: tasks.map((t) => [t.deadLetterId, t.at]) }).toEqual({
      code: EXIT.ok,
      at: [
        ['18446744073709551615-0', undefined],
        ['8640000000000001-0', undefined],
        ['1700000000000-0', '2023-11-14T22:13:20.000Z'],
      ],
    });
  });

  it('a delayed task due at a score no Date holds lists without `dueAt`', async () => {
    const { redis, keys, prefix } = queue;
    await redis.zadd(keys.delayed, 'inf', JSON.stringify({ id: 'd-inf', n: 'echo', p: '1' }));
    const reads = new FleetReads(redis, (name) => storedPartitions(redis, prefix, name), 3_600_000);
    const { tasks } = await reads.list('delayed', { queue: 'default' });
    expect(tasks.map((t) => [t.id, t.dueAt])).toEqual([['d-inf', undefined]]);
  });
});
