import { readsFixture, sizes } from './slot-group-readers';
import { sleep } from '../utils/helpers';
import { waitFor } from '../utils/redis';

/**
 * The reads of a queue whose partitions span slot groups, on one Redis with the grouping a
 * cluster would give (partition 0 alone, partitions 1 and 2 together): each group has a blocking
 * reader of its own. An idle group's read blocks holding no slot (a doorbell); a busy group reads
 * its backlog without blocking, with the queue's free slots.
 */
describe('SlotGroupReads', () => {
  const { redis, setup: setupOf } = readsFixture();
  const setup = (capacity: number) => setupOf(capacity, 3);

  /** Clients blocked in XREADGROUP on this Redis (counted against a baseline: others may block too). */
  async function blockedReads(): Promise<number> {
    const list = String(await redis.client('LIST')).split('\n');
    return list.filter((line) => / flags=b /.test(line) && line.includes('cmd=xreadgroup')).length;
  }

  it('answers with the first group that has entries, one handover per partition, while the other keeps blocking holding no slot', async () => {
    const { partitions, slots, reads } = setup(4);
    await reads.ensureGroup();
    const before = await blockedReads();

    const first = reads.read();
    await waitFor(async () => (await blockedReads()) - before === 2, { description: 'both groups block' });
    // Blocked reads hold nothing: a busy group could use every slot.
    expect(slots.free).toBe(4);
    await redis.xadd(partitions.all[2].stream, '*', 'n', '1');
    expect(sizes(await first)).toEqual([0, 0, 1]);
    expect(slots.free).toBe(3);

    // The group that answered reads its backlog without blocking: there is none, so it answers
    // empty (and blocks again on the next read). The other group's read is not sent again.
    expect(sizes(await reads.read())).toEqual([0, 0, 0]);
    const third = reads.read();
    await waitFor(async () => (await blockedReads()) - before === 2, { description: 'both groups block again' });
    await redis.xadd(partitions.all[0].stream, '*', 'n', '2');
    expect(sizes(await third)).toEqual([1, 0, 0]);
    expect(slots.free).toBe(2);
    slots.release(2);

    // Closing cuts the reads in flight short: read() answers with nothing and every hold ends.
    const fourth = reads.read();
    await waitFor(async () => (await blockedReads()) - before === 1, { description: 'the other group blocks' });
    reads.close();
    expect(sizes(await fourth)).toEqual([0, 0, 0]);
    expect(slots.free).toBe(4);
  });

  it("a backlog in one group takes every free slot while the other group's read blocks", async () => {
    const { partitions, slots, reads } = setup(4);
    await reads.ensureGroup();
    for (let i = 0; i < 10; i++) await redis.xadd(partitions.all[0].stream, '*', 'n', String(i));
    const before = await blockedReads();

    // The doorbell rings with one entry; the backlog read takes the other 3 slots at once.
    expect(sizes(await reads.read())).toEqual([1, 0, 0]);
    expect(sizes(await reads.read())).toEqual([3, 0, 0]);
    expect(slots.free).toBe(0);
    await waitFor(async () => (await blockedReads()) - before === 1, { description: 'the idle group blocks' });

    // The next backlog read waits for a slot, then takes what freed.
    const next = reads.read();
    slots.release(2);
    expect(sizes(await next)).toEqual([2, 0, 0]);
    slots.release(4);
    reads.close();
    await reads.read();
    expect(slots.free).toBe(4);
  });

  it('with fewer slots than groups, an entry in an idle group is read at once though every slot is busy', async () => {
    const { partitions, slots, reads } = setup(1);
    await reads.ensureGroup();
    await redis.xadd(partitions.all[0].stream, '*', 'n', '1');
    expect(sizes(await reads.read())).toEqual([1, 0, 0]);
    expect(slots.free).toBe(0);

    // Partition 0's group waits for a slot; the other group's read still blocks, holding none.
    const next = reads.read();
    await redis.xadd(partitions.all[1].stream, '*', 'n', '2');
    const got = await Promise.race([next.then(sizes), sleep(2_000).then(() => 'still waiting')]);
    // It waits, leased by this worker, for the slot (the pipeline runs at most the concurrency).
    expect(got).toEqual([0, 1, 0]);
    slots.release(2);
    reads.close();
    await reads.read();
    expect(slots.free).toBe(1);
  });

  it('busy groups take turns at the freed slots: neither backlog waits for the other to empty', async () => {
    const { partitions, slots, reads } = setup(2);
    await reads.ensureGroup();
    for (let i = 0; i < 20; i++) {
      await redis.xadd(partitions.all[0].stream, '*', 'n', String(i));
      await redis.xadd(partitions.all[1].stream, '*', 'n', String(i));
    }
    const order: number[] = [];
    while (order.length < 20) {
      const got = sizes(await reads.read());
      got.forEach((n, p) => order.push(...Array<number>(n).fill(p)));
      // The runs finish: their slots free for the next read.
      slots.release(got.reduce((a, b) => a + b, 0));
    }
    // In every stretch of 6 entries read, both backlogs were served.
    for (let i = 0; i + 6 <= 20; i += 6) expect(new Set(order.slice(i, i + 6))).toEqual(new Set([0, 1]));
    reads.close();
    await reads.read();
  });

  it('entries in both groups all arrive: with the first answer, or with the next reads', async () => {
    const { partitions, slots, reads } = setup(6);
    await reads.ensureGroup();
    await redis.xadd(partitions.all[0].stream, '*', 'n', '1');
    await redis.xadd(partitions.all[1].stream, '*', 'n', '2');
    await redis.xadd(partitions.all[2].stream, '*', 'n', '3');
    // Whatever is not in one answer arrives in a later one (a busy group's empty backlog read
    // may answer first).
    const got = [0, 0, 0];
    for (let i = 0; i < 3 && got.some((n) => n === 0); i++) {
      sizes(await reads.read()).forEach((n, p) => (got[p] += n));
    }
    expect(got).toEqual([1, 1, 1]);
    reads.close();
    await reads.read();
    expect(slots.free).toBe(3);
  });
});
