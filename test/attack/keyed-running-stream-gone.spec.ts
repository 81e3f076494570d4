import type { INestApplicationContext } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { ReplicationTimeoutError, TaskSupersededError, type QueueClient } from '../../lib';
import { QueueKeys } from '../../lib/redis/keys';
import { echoBlockedBy } from '../fixtures/probe';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp } from '../fixtures/test-app';
import { Ledger } from '../recovery/ledger';
import { startProducer } from '../recovery/producer';
import { Latch } from '../utils/latch';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, waitFor } from '../utils/redis';
import { spawnWorker, type WorkerHandle } from '../utils/spawn-worker';

/**
 * Attack: a keyed run's stream deleted (an operator's DEL of the stream, a FLUSH of it alone) or
 * its entry deleted (XDEL, XTRIM) *while it runs*. Its key state said running, kept without
 * expiry. Once its worker died (SIGKILL, or closed without settling it), no reclaim could find
 * it (its delivery went with the stream, or its entry is gone), so nothing settled it: every
 * later enqueue of the key returned the dead run and nothing of the key ran again, short of a
 * replace(). A worker still alive fared no better: its settle found the delivery in no pending
 * list and wrote nothing, so the key stayed running for that worker's life and its result()
 * never answered. The sibling of keyed-enqueue-message-gone.spec.ts (a waiting run's message).
 */
describe('attack: a keyed run whose stream or entry is deleted while it runs', () => {
  const env = useProbeApps();

  const producer = () => startApp({ prefix: env.prefix, probe: env.probe, options: { worker: false } });
  const worker = (concurrency = 1) =>
    startApp({ prefix: env.prefix, probe: env.probe, options: { concurrency, shutdownTimeoutMs: 200 } });
  const running = (payload: string) =>
    waitFor(() => env.probe.runs.some((r) => r.payload === payload), { description: `'${payload}' running` });

  /**
   * A run of key 'k' ('block', which never returns whatever its signal says) whose entry is
   * XDELed while it runs, its worker then closed past its 200 ms grace: the run abandoned
   * unsettled, the worker's liveness key deleted. Returns the producer and the run's handle.
   */
  async function strandedByClosedWorker() {
    env.probe.on('echo', echoBlockedBy(new Latch()));
    const p = await producer();
    const w = await worker();
    const first = await p.client.enqueue('echo', 'block', { key: 'k' });
    await running('block');
    const [[entryId]] = await env.redis.xrange(p.keys.stream, '-', '+');
    await env.redis.xdel(p.keys.stream, entryId);
    await w.close();
    return { p, first };
  }

  it('its worker closed without settling, the entry XDELed: the next enqueue adds a run, and it runs once', async () => {
    const { p, first } = await strandedByClosedWorker();
    const second = await p.client.enqueue('echo', 'second', { key: 'k' });
    expect(second.created).toBe(true);
    expect(second.id).not.toBe(first.id);
    await expect(first.result({ timeoutMs: 5_000 })).rejects.toBeInstanceOf(TaskSupersededError);
    await worker();
    await expect(second.result({ timeoutMs: 5_000 })).resolves.toBe('second');
    expect(env.probe.runs.map((r) => r.payload)).toEqual(['block', 'second']);
  });

  it('the same through enqueueMany()', async () => {
    const { p, first } = await strandedByClosedWorker();
    const [second, other] = await p.client.enqueueMany([
      { name: 'echo', payload: 'second', options: { key: 'k' } },
      { name: 'echo', payload: 'other', options: { key: 'other' } },
    ]);
    expect(second.created).toBe(true);
    expect(second.id).not.toBe(first.id);
    await worker();
    await expect(second.result({ timeoutMs: 5_000 })).resolves.toBe('second');
    await expect(other.result({ timeoutMs: 5_000 })).resolves.toBe('other');
  });

  it('the same through a durable enqueue: the new run is written, and named if replicas are short', async () => {
    const { p, first } = await strandedByClosedWorker();
    // No replica here: WAIT counts none, so the enqueue throws naming the task it wrote.
    const error = await p.client
      .enqueue('echo', 'second', { key: 'k', durability: { replicas: 1, timeoutMs: 20 } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReplicationTimeoutError);
    const { taskId } = error as ReplicationTimeoutError;
    expect(taskId).not.toBe(first.id);
    expect(await p.client.status('k')).toMatchObject({ state: 'queued', id: taskId });
    await worker();
    await expect(p.client.handle(taskId).result({ timeoutMs: 5_000 })).resolves.toBe('second');
  });

  it('its worker alive: an enqueue meanwhile returns the run, and the settle releases the key', async () => {
    const gate = new Latch();
    env.probe.on('echo', echoBlockedBy(gate));
    const w = await worker();
    const first = await w.client.enqueue('echo', 'block', { key: 'k' });
    await running('block');
    await env.redis.del(w.keys.stream);
    // Its lease is live: the run may still settle, so a second run beside it is never added.
    const again = await w.client.enqueue('echo', 'again', { key: 'k' });
    expect(again.id).toBe(first.id);
    expect(again.created).toBe(false);
    gate.open();
    await expect(first.result({ timeoutMs: 5_000 })).resolves.toBe('block');
    expect(await w.client.status('k')).toMatchObject({ state: 'completed', id: first.id });
    const next = await w.client.enqueue('echo', 'next', { key: 'k' });
    expect(next.created).toBe(true);
    await expect(next.result({ timeoutMs: 5_000 })).resolves.toBe('next');
    expect(env.probe.runs.map((r) => r.payload)).toEqual(['block', 'next']);
  });

  it('its worker alive, the entry XDELed: an enqueue meanwhile returns the run, as before', async () => {
    const gate = new Latch();
    env.probe.on('echo', echoBlockedBy(gate));
    const w = await worker();
    const first = await w.client.enqueue('echo', 'block', { key: 'k' });
    await running('block');
    const [[entryId]] = await env.redis.xrange(w.keys.stream, '-', '+');
    await env.redis.xdel(w.keys.stream, entryId);
    const again = await w.client.enqueue('echo', 'again', { key: 'k' });
    expect(again.id).toBe(first.id);
    expect(again.created).toBe(false);
    gate.open();
    await expect(first.result({ timeoutMs: 5_000 })).resolves.toBe('block');
    expect(env.probe.runs.map((r) => r.payload)).toEqual(['block']);
  });
});

/** The same with a worker process SIGKILLed mid-run (ledger-worker.ts: task 'work'). */
describe('attack: a keyed run whose stream is deleted while it runs, its worker SIGKILLed', () => {
  const WORKER_FILE = 'test/recovery/fixtures/ledger-worker.ts';
  let redis: Redis; // made here, not at describe time: the block above closes every client in its afterAll
  let prefix: string;
  let ledger: Ledger;
  let workers: WorkerHandle[] = [];
  let producer: { app: INestApplicationContext; client: QueueClient } | undefined;

  const spawn = (name: string, hold = false) =>
    spawnWorker(WORKER_FILE, {
      env: { SQ_PREFIX: prefix, LEDGER: ledger.name, WORKER: name, LEASE_MS: '1000', ...(hold && { HOLD: '1' }) },
      ready: hold ? `holding ${name}` : `ready ${name}`,
      readyTimeoutMs: 60_000,
    }).then((w) => (workers.push(w), w));

  beforeAll(() => {
    redis = createRedis();
  });

  beforeEach(() => {
    prefix = randomPrefix();
    ledger = new Ledger(redis, `{${prefix}-ledger}`); // one hash tag: its MULTIs stay in one slot on a cluster
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

  it('the next enqueue of its key adds a run once the lease lapsed, and it runs exactly once', async () => {
    const keys = new QueueKeys(prefix, 'default');
    const [victim, survivor] = await Promise.all([spawn('victim'), spawn('survivor', true)]);
    producer = await startProducer(prefix);
    const first = await producer.client.enqueue('work', { ms: 600_000 }, { key: 'k' });
    await waitFor(async () => (await ledger.starts([first.id]))[0] === 1, { description: 'the victim started it' });
    const { rown } = await redis.hgetall(keys.keyState('k'));
    await redis.del(keys.stream);
    await victim.kill('SIGKILL');
    await waitFor(async () => (await redis.exists(keys.alive(rown))) === 0, {
      description: "the victim's lease lapsed",
    });

    const second = await producer.client.enqueue('work', { ms: 1 }, { key: 'k' });
    expect(second.created).toBe(true);
    expect(second.id).not.toBe(first.id);
    survivor.child.kill('SIGUSR2'); // starts consuming
    await expect(second.result({ timeoutMs: 10_000 })).resolves.toBe('survivor');
    expect(await ledger.starts([first.id, second.id])).toEqual([1, 1]);
    expect(await ledger.overlaps()).toEqual([]);
  }, 120_000);
});
