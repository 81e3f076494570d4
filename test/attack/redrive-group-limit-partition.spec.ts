import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { QueueClient, RedriveRefusedError, StreamQueueModule, Task, type TaskContext } from '../../lib';
import { partitionOfGroup, QueuePartitions } from '../../lib/partitions/queue-partitions';
import { partitionOfTaskId } from '../../lib/partitions/task-ids';
import { startApp } from '../fixtures/test-app';
import { useProbeApps } from '../fixtures/probe-apps';
import { mostAtOnce } from '../fixtures/runs-at-once';
import { sleep, waitFor } from '../utils/helpers';
import { testConnection } from '../utils/redis';

const runs: Array<{ id: string; start: number; end?: number }> = [];

async function work(ctx: TaskContext, fail: boolean): Promise<void> {
  const run: { id: string; start: number; end?: number } = { id: ctx.id, start: performance.now() };
  runs.push(run);
  await sleep(150);
  run.end = performance.now();
  if (fail) throw new Error('fails under the old definition');
}

/** Before the deploy: own limits only, so its ungrouped tasks spread over both partitions. */
@Injectable()
class OldDefinition {
  @Task('rgp.work', { queue: 'rgp', globalConcurrency: 4, maxAttempts: 1 })
  work(_payload: unknown, ctx: TaskContext) {
    return work(ctx, true);
  }
}

/** After the deploy: a group limit, so its ungrouped runs are counted in one partition only. */
@Injectable()
class NewDefinition {
  @Task('rgp.work', { queue: 'rgp', globalConcurrency: 4, groupConcurrency: 1, maxAttempts: 1 })
  work(_payload: unknown, ctx: TaskContext) {
    return work(ctx, false);
  }
}

@Module({ providers: [OldDefinition] })
class OldModule {}

@Module({ providers: [NewDefinition] })
class NewModule {}

const QUEUES = { queues: { rgp: { partitions: 2 } } };

/**
 * Review finding: dead letters of an ungrouped flow task made before a deploy added a group limit
 * sit in the partition they ran in. A redrive put them back there, where their runs were counted
 * apart from the ungrouped group's partition: groupConcurrency 1 ran two at once.
 */
describe('redriving dead letters of a task that gained a group limit, on a partitioned queue', () => {
  const env = useProbeApps();
  beforeEach(() => void (runs.length = 0));

  const ungrouped = partitionOfGroup(undefined, 2);
  const deadIn = async (p: number) => env.redis.xlen(new QueuePartitions(env.prefix, 'rgp', 2).keysFor(p).deadLetter);

  /** Six tasks dead-lettered under the old definition, over both partitions; those outside the ungrouped group's. */
  async function deadLettersOfTheOldDefinition(): Promise<string[]> {
    const partitions = new QueuePartitions(env.prefix, 'rgp', 2);
    const old = await startApp({ prefix: env.prefix, imports: [OldModule], options: { concurrency: 8, ...QUEUES } });
    const handles = await Promise.all(
      Array.from({ length: 6 }, (_, i) => old.client.enqueue('rgp.work', { i }, { queue: 'rgp' })),
    );
    // Round robin: both partitions hold some (so some lie outside the ungrouped group's).
    expect(new Set(handles.map((h) => partitionOfTaskId(h.id)))).toEqual(new Set([0, 1]));
    await waitFor(async () => (await deadIn(0)) + (await deadIn(1)) === 6);
    const elsewhere = (await env.redis.xrange(partitions.keysFor(1 - ungrouped).deadLetter, '-', '+')).map(
      ([id]) => id,
    );
    expect(elsewhere.length).toBeGreaterThan(0);
    await old.close();
    runs.length = 0;
    return elsewhere;
  }

  it('never runs the ungrouped group above its limit, and keeps what it cannot redrive', async () => {
    const elsewhere = await deadLettersOfTheOldDefinition();
    const deployed = await startApp({
      prefix: env.prefix,
      imports: [NewModule],
      options: { concurrency: 8, ...QUEUES },
    });
    const result = await deployed.client.redriveAll({ queue: 'rgp' });
    const redriven = 6 - elsewhere.length;
    await waitFor(() => runs.filter((r) => r.end !== undefined).length >= redriven, { timeoutMs: 20_000 });
    await sleep(500); // any run redriven outside the ungrouped group's partition starts by now
    expect(mostAtOnce(runs)).toBe(1);
    // Those outside the ungrouped group's partition stay dead letters, refused with why.
    expect(result.redriven).toBe(redriven);
    expect(result.refused).toEqual(
      elsewhere.map((deadLetterId) => ({ deadLetterId, reason: 'group-limit-elsewhere' })),
    );
    expect(await deadIn(1 - ungrouped)).toBe(elsewhere.length);
    expect(runs).toHaveLength(redriven);
  });

  it('a redrive by a client without the definition is refused too (the limits recorded there decide)', async () => {
    const [deadLetterId] = await deadLettersOfTheOldDefinition();
    // The deployed worker records the new limits in every partition when it starts.
    await startApp({ prefix: env.prefix, imports: [NewModule], options: { concurrency: 8, ...QUEUES } });
    @Module({
      imports: [
        StreamQueueModule.forRoot({ connection: testConnection(), prefix: env.prefix, worker: false, ...QUEUES }),
      ],
    })
    class BlindModule {}
    const blind = await NestFactory.createApplicationContext(BlindModule, { logger: false });
    try {
      const refused = await blind
        .get(QueueClient)
        .redrive(deadLetterId, { queue: 'rgp', partition: 1 - ungrouped })
        .catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(RedriveRefusedError);
      expect((refused as RedriveRefusedError).reason).toBe('group-limit-elsewhere');
      expect(await deadIn(1 - ungrouped)).toBeGreaterThan(0);
    } finally {
      await blind.close();
    }
  });
});
