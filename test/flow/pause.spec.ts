import { InvalidOptionError } from '../../lib';
import { pauseScript } from '../../lib/scripts/pause.script';
import { defineScripts } from '../../lib/redis/scripts';
import { DECLARED_KEYS_RCALL } from '../scripts/declared-keys';
import { Latch, sleep } from '../utils/helpers';
import { waitFor } from '../utils/redis';
import { watchCommands } from '../fixtures/monitored-commands';
import { CONSUMER_GROUP } from '../../lib/stream-queue.constants';
import { partitioned, usePartitionApps } from '../partitions/partition-apps';

/** Short enough to keep the specs fast, long enough to tell "within one interval" from "never". */
const HEARTBEAT_MS = 200;
const fast = { heartbeatIntervalMs: HEARTBEAT_MS };

describe('QueueClient.pause / resume / isPaused', () => {
  const apps = usePartitionApps();
  const { redis } = apps;

  /** Start times (performance.now) of 'echo' runs; each run takes `ms`. */
  const recordStarts = (ms = 0) => {
    const starts: number[] = [];
    apps.probe.on('echo', async (payload) => {
      starts.push(performance.now());
      if (ms > 0) await sleep(ms);
      return payload;
    });
    return starts;
  };

  it('stops new starts within one heartbeat interval; a run in flight finishes and settles', async () => {
    const inFlightMayEnd = new Latch();
    const starts = recordStarts(5);
    apps.probe.on('once', async () => (await inFlightMayEnd.wait(), 'finished while paused'));
    // A long interval: stopping within a fraction of it shows the control-channel notice at work.
    const worker = await apps.start({ heartbeatIntervalMs: 1_000, concurrency: 4 });
    const inFlight = await worker.client.enqueue('once', null);
    await waitFor(() => apps.probe.runsOf('once').length === 1, { description: 'the long run started' });
    // A steady flow of short runs, so the last start before the pause shows when it took effect.
    await worker.client.enqueueMany(Array.from({ length: 2_000 }, (_, i) => ({ name: 'echo', payload: i })));
    await waitFor(() => starts.length > 20, { description: 'short runs flowing' });

    await worker.client.pause('default');
    const pausedAt = performance.now();
    await sleep(3 * HEARTBEAT_MS);
    const startsAfterPause = starts.filter((t) => t > pausedAt);
    const lastLagMs = Math.max(0, ...startsAfterPause.map((t) => t - pausedAt));
    console.log(
      `pause (notice path): ${startsAfterPause.length} start(s) after pause() resolved, last +${lastLagMs.toFixed(1)} ms`,
    );
    expect(lastLagMs).toBeLessThanOrEqual(100);
    const frozen = starts.length;
    expect(frozen).toBeLessThan(2_000);

    inFlightMayEnd.open();
    await expect(inFlight.result({ timeoutMs: 5_000 })).resolves.toBe('finished while paused');
    await sleep(3 * HEARTBEAT_MS);
    expect(starts.length).toBe(frozen);
    expect(await worker.client.isPaused('default')).toBe(true);

    await worker.client.resume('default');
    await waitFor(() => starts.length === 2_000, { timeoutMs: 20_000, description: 'every short run after resume' });
  });

  it('a lost notice: the poll alone stops the worker within one heartbeat interval', async () => {
    const starts = recordStarts(5);
    const worker = await apps.start({ ...fast, concurrency: 4 });
    await worker.client.enqueueMany(Array.from({ length: 2_000 }, (_, i) => ({ name: 'echo', payload: i })));
    await waitFor(() => starts.length > 20, { description: 'short runs flowing' });
    // The record pause() writes, without its notice on the control channel.
    await redis.hset(apps.partitions(1).keysFor(0).pause, 'paused', '1', 'version', String(Date.now()));
    const writtenAt = performance.now();
    await sleep(6 * HEARTBEAT_MS);
    const lastLagMs = Math.max(0, ...starts.filter((t) => t > writtenAt).map((t) => t - writtenAt));
    console.log(`pause (poll path): last start +${lastLagMs.toFixed(1)} ms after the record was written`);
    // One interval, plus the poll's round trip and timer lateness, which a loaded machine stretches
    // (155 ms of 200 seen): half an interval more. A worker whose poll missed the record starts
    // runs through the whole 6-interval watch.
    expect(lastLagMs).toBeLessThanOrEqual(1.5 * HEARTBEAT_MS + 100);
    const frozen = starts.length;
    await sleep(2 * HEARTBEAT_MS);
    expect(starts.length).toBe(frozen);
    expect(await worker.client.isPaused('default')).toBe(true);
  });

  it('tasks enqueued while paused wait unread (no XREADGROUP, not even one blocked before), then run after resume', async () => {
    // A blocking read far longer than the wait below: the pause must cut it short, or it would read the tasks.
    const worker = await apps.start({ ...fast, blockMs: 2_500 });
    const stream = apps.partitions(1).keysFor(0).stream;
    await sleep(HEARTBEAT_MS); // the worker's blocking read is under way
    await worker.client.pause('default');
    await sleep(HEARTBEAT_MS); // the bound: from here on nothing is read or started
    const commands = await watchCommands(stream);
    const readsOfQueue = async () =>
      (await commands.take()).filter(([name, ...args]) => name === 'xreadgroup' && args.includes(stream)).length;
    try {
      // Another client of the same Redis reads streams of its own meanwhile (other specs, other
      // processes): not a read of this queue, so not counted (server-wide commandstats counted it).
      const noise = `${apps.prefix}:noise`;
      await redis.xgroup('CREATE', noise, 'g', '$', 'MKSTREAM');
      await redis.xreadgroup('GROUP', 'g', 'c', 'COUNT', 1, 'STREAMS', noise, '>');
      const handles = await Promise.all([1, 2, 3].map((n) => worker.client.enqueue('echo', n)));
      const delayed = await worker.client.enqueue('echo', 'delayed', { delayMs: 50 });
      await sleep(4 * HEARTBEAT_MS);
      expect(apps.probe.runs).toEqual([]);
      // Unread, and promotion went on: the delayed task waits in the stream with the others.
      expect(await worker.client.counts('default')).toMatchObject({ waiting: 4, delayed: 0, running: 0 });
      expect(await readsOfQueue()).toBe(0);

      await worker.client.resume('default');
      expect(await worker.client.isPaused('default')).toBe(false);
      await expect(Promise.all([...handles, delayed].map((h) => h.result({ timeoutMs: 5_000 })))).resolves.toEqual([
        1,
        2,
        3,
        'delayed',
      ]);
      // The control: the same count sees the reads that follow the resume.
      expect(await readsOfQueue()).toBeGreaterThan(0);
    } finally {
      commands.close();
    }
  });

  it('isPaused is fleet-wide: another process sees a pause and undoes it', async () => {
    const a = await apps.start({ worker: false });
    const b = await apps.start({ worker: false });
    expect(await b.client.isPaused('default')).toBe(false);
    await a.client.pause('default');
    expect(await b.client.isPaused('default')).toBe(true);
    expect(await b.client.isPaused('other')).toBe(false);
    await b.client.resume('default');
    expect(await a.client.isPaused('default')).toBe(false);
    await a.client.pause('default');
    await a.client.pause('default'); // idempotent
    expect(await b.client.isPaused('default')).toBe(true);
  });

  it('a worker that starts while the queue is paused starts nothing until resume', async () => {
    const producer = await apps.start({ worker: false });
    await producer.client.pause('default');
    const handles = await Promise.all([1, 2, 3].map((n) => producer.client.enqueue('echo', n)));
    await apps.start(fast);
    await sleep(4 * HEARTBEAT_MS);
    expect(apps.probe.runs).toEqual([]);
    await producer.client.resume('default');
    await expect(Promise.all(handles.map((h) => h.result({ timeoutMs: 5_000 })))).resolves.toEqual([1, 2, 3]);
  });

  it('on a partitioned queue, pauses every partition (each holds the record), and resumes them all', async () => {
    const P = 4;
    const worker = await apps.start(partitioned(P, fast));
    await worker.client.pause('default');
    const records = () => Promise.all(apps.partitions(P).all.map((k) => redis.hmget(k.pause, 'paused', 'version')));
    const paused = await records();
    expect(paused.map(([p]) => p)).toEqual(['1', '1', '1', '1']);
    expect(new Set(paused.map(([, v]) => v)).size).toBe(1); // one call, one version everywhere
    await sleep(HEARTBEAT_MS);
    const handles = await worker.client.enqueueMany(
      Array.from({ length: 4 * P }, (_, i) => ({ name: 'echo', payload: i })),
    );
    expect(new Set(handles.map((h) => h.toJSON().partition ?? 0))).toEqual(new Set([0, 1, 2, 3]));
    await sleep(4 * HEARTBEAT_MS);
    expect(apps.probe.runs).toEqual([]);

    await worker.client.resume('default');
    expect((await records()).map(([p]) => p)).toEqual(['0', '0', '0', '0']);
    await Promise.all(handles.map((h) => h.result({ timeoutMs: 5_000 })));
    expect(apps.probe.runs).toHaveLength(4 * P);
  });

  it('concurrent calls converge: partition 0 orders them, so a slower older call never wins elsewhere', async () => {
    const P = 3;
    const commands = apps.redis.duplicate();
    // Its rcall fails the script on any key not declared in KEYS (as a cluster would).
    defineScripts(commands, { replace: { rcall: DECLARED_KEYS_RCALL } });
    const [p0, p1, p2] = apps.partitions(P).all;
    // pause() reaches partition 0 first, then stalls; resume() runs to the end; then pause() goes on.
    const pause = await pauseScript(p0, { paused: true, version: 0 }).run(commands);
    const resume = await pauseScript(p0, { paused: false, version: 0 }).run(commands);
    expect(resume.version).toBeGreaterThan(pause.version);
    for (const k of [p1, p2]) await pauseScript(k, { paused: false, version: resume.version }).run(commands);
    for (const k of [p1, p2]) {
      // Last writer wins per partition would leave these paused while partition 0 is resumed.
      expect(await pauseScript(k, { paused: true, version: pause.version }).run(commands)).toEqual({
        outcome: 'refused',
        version: resume.version,
      });
    }
    const states = await Promise.all([p0, p1, p2].map((k) => redis.hget(k.pause, 'paused')));
    expect(states).toEqual(['0', '0', '0']);
    const app = await apps.start(partitioned(P, { worker: false }));
    expect(await app.client.isPaused('default')).toBe(false);
    commands.disconnect();
  });

  it('a worker stopped while paused never starts what it holds: the next worker runs it after resume', async () => {
    // Two partitions, one slot: one read brings an entry of each; one runs, the other waits for the slot.
    const firstMayEnd = new Latch();
    let blocking = false;
    apps.probe.on('once', async (payload) => {
      if (!blocking) {
        blocking = true;
        await firstMayEnd.wait();
      }
      return payload;
    });
    const producer = await apps.start(partitioned(2, { worker: false }));
    const handles = await producer.client.enqueueMany([
      { name: 'once', payload: 'a' },
      { name: 'once', payload: 'b' },
    ]);
    const a = await apps.start(partitioned(2, { ...fast, concurrency: 1 }));
    await waitFor(() => apps.probe.runs.length === 1, { description: 'one run started' });
    const pending = await Promise.all(apps.partitions(2).all.map((k) => redis.xpending(k.stream, CONSUMER_GROUP)));
    expect(pending.map((p) => p[0])).toEqual([1, 1]); // both read by the worker
    const [started] = apps.probe.runs.map((r) => r.payload);
    await a.client.pause('default');
    await sleep(HEARTBEAT_MS);
    firstMayEnd.open(); // the run in flight finishes and settles; the other stays held
    const startedHandle = handles.find((h, i) => ['a', 'b'][i] === started)!;
    await expect(startedHandle.result({ timeoutMs: 5_000 })).resolves.toBe(started);
    await sleep(3 * HEARTBEAT_MS);
    expect(apps.probe.runs).toHaveLength(1);
    await a.close(); // hands the held entry back (left pending, liveness deleted), unstarted
    expect(apps.probe.runs).toHaveLength(1);
    const owners = async () =>
      (await Promise.all(apps.partitions(2).all.map((k) => redis.xpending(k.stream, CONSUMER_GROUP, '-', '+', 10))))
        .flat()
        .map((row) => (row as [string, string])[1]);
    const [heldBy] = await owners();
    const b = await apps.start(partitioned(2, fast));
    await sleep(4 * HEARTBEAT_MS); // many sweeps: a paused worker reclaims nothing (no delivery counted)
    expect(apps.probe.runs).toHaveLength(1);
    expect(await owners()).toEqual([heldBy]);
    await b.client.resume('default');
    await expect(Promise.all(handles.map((h) => h.result({ timeoutMs: 5_000 })))).resolves.toEqual(['a', 'b']);
    expect(apps.probe.runs.map((r) => r.payload).sort()).toEqual(['a', 'b']);
  });

  it('bad input: a missing or invalid queue name is an InvalidOptionError naming `queue`, and writes nothing', async () => {
    const app = await apps.start({ worker: false });
    for (const bad of [undefined, '', 'has space', 'a'.repeat(200), 42, {}]) {
      for (const call of [
        () => app.client.pause(bad as never),
        () => app.client.resume(bad as never),
        () => app.client.isPaused(bad as never),
      ]) {
        const error = await call().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(InvalidOptionError);
        expect(error).toMatchObject({ option: 'queue' });
      }
    }
    expect(await redis.keys(`{${apps.prefix}:*`)).toEqual([]);
  });
});
