import type { Redis } from 'ioredis';
import { PartitionLayoutError } from '../../lib';
import { PartitionLayouts } from '../../lib/partitions/partition-layout';
import { partitionOfKey } from '../../lib/partitions/queue-partitions';
import { defineScripts } from '../../lib/redis/scripts';
import { createRedis, Latch, waitFor } from '../utils/helpers';
import { partitioned, usePartitionApps } from '../partitions/partition-apps';
import { interceptCommands } from '../fixtures/command-hooks';

/**
 * Review findings: two processes booting with the same new partition count (replicas of a
 * rolling deploy). The freeze of the second one used to overwrite a partition the first had
 * already committed, then its thaw set it back to the old count: an old-count producer was
 * accepted for a key running in its new partition (two runs at once), a queued task was stranded
 * where no worker would read it, or a partition kept the old count for good.
 */
describe('a partition-count change by processes booting at once', () => {
  const apps = usePartitionApps();
  const { redis } = apps;
  const records = (count: number) => Promise.all(apps.partitions(count).all.map((k) => redis.get(k.layout)));
  const connections: Redis[] = [];
  afterEach(() => Promise.all(connections.splice(0).map((r) => r.quit().catch(() => undefined))));

  /**
   * PartitionLayouts over a connection whose GETs and layout calls go through `hook`: it sends
   * the call with `send` when it chooses, and may hold the reply.
   */
  function layoutsOver(
    hook: (name: string, args: unknown[], send: () => Promise<unknown>) => Promise<unknown>,
  ): PartitionLayouts {
    const raw = createRedis();
    connections.push(raw);
    defineScripts(raw);
    const proxy = interceptCommands(raw, {
      get: (args, send) => hook('get', args, send),
      sq_layout: (args, send) => hook('sq_layout', args, send),
    });
    return new PartitionLayouts({ prefix: apps.prefix } as never, { commands: proxy } as never, {} as never);
  }

  /**
   * Process B's adopt(4): its read of the stored layout is answered ('1') when `readLayout`
   * opens, and the answer reaches it only when `goOn` opens (a slow network, a GC pause).
   */
  function lateBoot(readLayout: Latch, goOn: Latch): Promise<unknown> {
    let first = true;
    const layouts = layoutsOver(async (name, _args, send) => {
      if (name !== 'get' || !first) return send();
      first = false;
      const reply = await send();
      readLayout.open();
      await goOn.wait();
      return reply;
    });
    return layouts.adopt('default', 4).then(
      () => 'booted',
      (error: unknown) => error,
    );
  }

  /** The step of a layout call's arguments: the key count, the keys, then the step. */
  const stepOf = (args: unknown[]) => args[Number(args[0]) + 1];

  const keyIn = (partition: number): string => {
    for (let i = 0; ; i++) if (partitionOfKey(`k-${i}`, 4) === partition) return `k-${i}`;
  };

  it('a process that read the old count finds the switch made: an old-count process stays refused', async () => {
    const release = new Latch();
    const started = new Latch();
    apps.probe.on('echo', async (payload) => {
      if (payload === 'first') {
        started.open();
        await release.wait();
      }
      return payload;
    });
    const readLayout = new Latch();
    const goOn = new Latch();
    const b = lateBoot(readLayout, goOn);
    await readLayout.wait(); // B read '1'

    const a = await apps.start(partitioned(4)); // A switches 1 -> 4 and consumes
    const key = keyIn(2);
    const first = await a.client.enqueue('echo', 'first', { key });
    await started.wait();

    goOn.open();
    expect(await b).toBe('booted'); // every partition was this switch's already
    expect(await records(4)).toEqual(['4', '4', '4', '4']);
    // An old-count process of the deploy cannot write the key into partition 0 beside its run.
    expect(await apps.bootError(partitioned(1, { worker: false }))).toBeInstanceOf(PartitionLayoutError);
    release.open();
    await first.result();
    expect(apps.probe.runsOf('echo')).toHaveLength(1);
  });

  it('a process that read the old count leaves a task queued in a new partition where workers read it', async () => {
    const readLayout = new Latch();
    const goOn = new Latch();
    const b = lateBoot(readLayout, goOn);
    await readLayout.wait();
    const producer = await apps.start(partitioned(4, { worker: false }));
    const handle = await producer.client.enqueue('echo', 'queued', { key: keyIn(2) });
    goOn.open();
    expect(await b).toBe('booted');
    await producer.close();

    const worker = await apps.start(partitioned(4));
    await expect(worker.client.handle(handle.id, handle.toJSON()).result({ timeoutMs: 5_000 })).resolves.toBe('queued');
  });

  it('two switches interleaved call by call both finish at the new count, neither undoing the other', async () => {
    // A runs its switch up to its last commit (partition 0); B starts then, reads the switch in
    // progress ('1>4': its own target, so it finishes it), and goes on after A's commit and a
    // task queued in partition 2 by A's process.
    const aAtLastCommit = new Latch();
    const aGoOn = new Latch();
    const a = layoutsOver(async (name, args, send) => {
      if (name === 'sq_layout' && stepOf(args) === 'commit' && args[1] === apps.partitions(4).all[0].layout) {
        aAtLastCommit.open();
        await aGoOn.wait();
      }
      return send();
    });
    const bRead = new Latch();
    const bGoOn = new Latch();
    let bFirst = true;
    const b = layoutsOver(async (name, _args, send) => {
      if (name === 'sq_layout' && bFirst) {
        bFirst = false;
        bRead.open();
        await bGoOn.wait();
      }
      return send();
    });
    const aDone = a.adopt('default', 4).then(
      () => 'booted',
      (e: unknown) => e,
    );
    await aAtLastCommit.wait();
    expect(await records(4)).toEqual(['1>4', '4', '4', '4']);
    const bDone = b.adopt('default', 4).then(
      () => 'booted',
      (e: unknown) => e,
    );
    await bRead.wait(); // B read '1>4' and is about to freeze partition 0
    aGoOn.open();
    expect(await aDone).toBe('booted');
    const producer = await apps.start(partitioned(4, { worker: false }));
    await producer.client.enqueue('echo', 'x', { key: keyIn(2) });
    bGoOn.open();
    expect(await bDone).toBe('booted');
    expect(await records(4)).toEqual(['4', '4', '4', '4']);
    // Every partition takes writes of the new count.
    await expect(producer.client.enqueue('echo', 'y', { key: keyIn(1) })).resolves.toBeDefined();
  });

  // Second review: A (2 -> 3) froze partition 0 and found 1 busy; B, booting with the same count,
  // found 0 frozen and went on. A's thaw gave 0 back to the old count under B, which then froze and
  // committed 2 and 1 before its commit of 0 was refused: a split layout, neither count's.
  it("a failing process's thaw leaves frozen what another relies on: the other one finishes the switch", async () => {
    const keyOf = (partition: number, count: number): string => {
      for (let i = 0; ; i++) if (partitionOfKey(`k-${i}`, count) === partition) return `k-${i}`;
    };
    const started = new Latch();
    const release = new Latch();
    apps.probe.on('echo', async (payload) => {
      if (payload === 'busy') {
        started.open();
        await release.wait();
      }
      return payload;
    });
    const old = await apps.start(partitioned(2)); // the fleet of the old count
    const busy = await old.client.enqueue('echo', 'busy', { key: keyOf(1, 2) });
    await started.wait(); // partition 1 holds a running task; partition 0 is empty

    const partitions = apps.partitions(3).all;
    const aAtThaw = new Latch();
    const aThaw = new Latch();
    const a = layoutsOver(async (name, args, send) => {
      if (name === 'sq_layout' && stepOf(args) === 'thaw') {
        aAtThaw.open();
        await aThaw.wait();
      }
      return send();
    });
    const bAtFreeze1 = new Latch();
    const bFreeze1 = new Latch();
    const b = layoutsOver(async (name, args, send) => {
      if (name === 'sq_layout' && stepOf(args) === 'freeze' && args[1] === partitions[1].layout) {
        bAtFreeze1.open();
        await bFreeze1.wait();
      }
      return send();
    });
    const settle = (boot: Promise<unknown>) =>
      boot.then(
        () => 'booted',
        (e: unknown) => e,
      );
    const aDone = settle(a.adopt('default', 3));
    await aAtThaw.wait(); // A froze 0, found 1 busy
    const bDone = settle(b.adopt('default', 3));
    await bAtFreeze1.wait(); // B found 0 frozen for its switch
    aThaw.open();
    expect(await aDone).toBeInstanceOf(PartitionLayoutError);
    expect(await records(3)).toEqual(['2>3', '2', null]); // B still relies on partition 0
    release.open();
    await busy.result();
    bFreeze1.open();
    expect(await bDone).toBe('booted');
    expect(await records(3)).toEqual(['3', '3', '3']);
  });

  it('keeps ctx.fence and generations growing for a key the change moves to another partition', async () => {
    const key = keyIn(3);
    const before = await apps.start(partitioned(1));
    // Other keys draw from partition 0's sequence first.
    for (let i = 0; i < 5; i++) await (await before.client.enqueue('echo', i, { key: `other-${i}` })).result();
    await (await before.client.enqueue('echo', 'run 1', { key })).result();
    await waitFor(async () => (await before.client.status(key))?.state === 'completed');
    await before.close();

    const after = await apps.start(partitioned(4)); // the queue is drained: the change is made
    await (await after.client.enqueue('echo', 'run 2', { key })).result();
    const runs = apps.probe.runsOf('echo').filter((r) => r.ctx.key === key);
    expect(runs.map((r) => r.payload)).toEqual(['run 1', 'run 2']);
    expect(runs[1].ctx.fence).toBeGreaterThan(runs[0].ctx.fence);
    expect(runs[1].ctx.generation).toBeGreaterThan(runs[0].ctx.generation);
  });
});
