import { Ledger } from '../recovery/ledger';
import { QueuePartitions } from '../../lib/partitions/queue-partitions';
import { CONSUMER_GROUP } from '../../lib/stream-queue.constants';
import { partitioned } from '../partitions/partition-apps';
import { startProducer } from '../recovery/producer';
import { sleep } from '../utils/helpers';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, waitFor } from '../utils/redis';
import { spawnWorker, type WorkerHandle } from '../utils/spawn-worker';

const WORKER_FILE = 'test/recovery/fixtures/ledger-worker.ts';
const LEASE_MS = 1_000;
const SWEEP_MS = 200;

/** A worker process SIGKILLed while its queue is paused, holding an entry it read but never started. */
describe('pause: a crashed worker', () => {
  const redis = createRedis();
  let prefix: string;
  let ledger: Ledger;
  let workers: WorkerHandle[] = [];
  let producer: Awaited<ReturnType<typeof startProducer>> | undefined;

  beforeEach(() => {
    prefix = randomPrefix();
    ledger = new Ledger(redis, `{${prefix}-ledger}`);
  });

  afterEach(async () => {
    await Promise.all(workers.map((w) => w.kill('SIGKILL')));
    workers = [];
    await producer?.app.close();
    producer = undefined;
    await ledger.cleanup();
    await cleanupPrefix(redis, prefix);
  });

  afterAll(closeAll);

  const spawn = (name: string, env: Record<string, string> = {}) =>
    spawnWorker(WORKER_FILE, {
      env: {
        SQ_PREFIX: prefix,
        LEDGER: ledger.name,
        WORKER: name,
        LEASE_MS: String(LEASE_MS),
        SWEEP_MS: String(SWEEP_MS),
        PARTITIONS: '2',
        ...env,
      },
      ready: env.HOLD === '1' ? `holding ${name}` : `ready ${name}`,
      readyTimeoutMs: 60_000,
    }).then((w) => (workers.push(w), w));

  it('leaves its read-but-unstarted entry (and its run) unstarted until resume; then a survivor runs both', async () => {
    producer = await startProducer(prefix, partitioned(2));
    // One per partition; each stalls only on the victim, so the victim reads both and runs one.
    const handles = await producer!.client.enqueueMany(
      [0, 1].map(() => ({ name: 'work', payload: { ms: 50, stallOn: 'victim', stallMs: 60_000 } })),
    );
    const ids = handles.map((h) => h.id);
    const partitions = new QueuePartitions(prefix, 'default', 2).all;
    const owners = async () =>
      (await Promise.all(partitions.map((k) => redis.xpending(k.stream, CONSUMER_GROUP, '-', '+', 10))))
        .flat()
        .map((row) => (row as [string, string])[1]);
    const [victim, survivor] = await Promise.all([
      spawn('victim', { CONCURRENCY: '1' }),
      spawn('survivor', { HOLD: '1' }),
    ]);
    await waitFor(async () => (await ledger.log()).length === 1, { timeoutMs: 20_000, description: 'one start' });
    const held = await owners();
    expect(held).toHaveLength(2); // both read by the victim: one running, one waiting for the slot
    expect(new Set(held).size).toBe(1);

    await producer!.client.pause('default');
    survivor.child.kill('SIGUSR2');
    await survivor.waitForLine('ready survivor', { timeoutMs: 30_000 });
    await victim.kill('SIGKILL');
    // Past the victim's lease and many sweeps: nothing is reclaimed, nothing starts.
    await sleep(LEASE_MS + 10 * SWEEP_MS);
    expect((await ledger.starts(ids)).reduce((a, b) => a + b)).toBe(1);
    expect(await owners()).toEqual(held);

    await producer!.client.resume('default');
    await waitFor(() => ledger.allSettled(ids), { timeoutMs: 20_000, description: 'both settled on the survivor' });
    expect((await ledger.starts(ids)).sort()).toEqual([1, 2]); // the victim's run, again; the other, once
    expect(
      (await ledger.log())
        .filter((l) => l.includes(' start '))
        .slice(1)
        .every((l) => l.endsWith(' survivor')),
    ).toBe(true);
  }, 120_000);
});
