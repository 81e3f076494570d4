import { Test } from '@nestjs/testing';
import { register, Registry } from 'prom-client';
import { InvalidOptionError, StreamQueueModule } from '../../lib';
import { METRIC_NAMES, StreamQueueMetricsModule } from '../../lib/metrics';
import { Latch } from '../utils/helpers';
import { echoBlockedBy } from '../fixtures/probe';
import { closeApps, expectCounters, startApp, testOptions, type TestApp } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, waitFor } from '../utils/redis';
import { startRedisServer, type RedisServerHandle } from '../utils/redis-server';

/** A metric's samples as `labels -> value`, labels written `a=x,b=y` in label order. */
async function samples(registry: Registry, name: string): Promise<Map<string, number>> {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`${name} is not registered`);
  const { values } = await metric.get();
  return new Map(
    values.map((v) => [
      [
        (v as { metricName?: string }).metricName ?? name,
        ...Object.entries(v.labels).map(([k, l]) => `${k}=${String(l)}`),
      ].join(','),
      v.value,
    ]),
  );
}

describe('nest-stream-queue/metrics', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  let registry: Registry;
  let t: TestApp;

  beforeEach(async () => {
    await cleanupPrefix(redis, prefix);
    registry = new Registry();
  });
  afterEach(() => closeApps());
  afterAll(async () => {
    await cleanupPrefix(redis, prefix);
    await closeAll();
  });

  const start = (queues?: string[], concurrency = 10) =>
    startApp({
      prefix,
      options: { concurrency },
      imports: [StreamQueueMetricsModule.forRoot({ registry, queues })],
    });

  it('counts runs by task and outcome, and observes their duration', async () => {
    t = await start();
    t.probe.on('doomed', () => {
      throw new Error('never works');
    });
    for (let i = 0; i < 3; i++) await (await t.client.enqueue('echo', i)).result();
    await expect((await t.client.enqueue('doomed', 0)).result()).rejects.toThrow('never works');
    await expectCounters(t.events, { completed: 3, 'retry-scheduled': 1, 'dead-lettered': 1 });

    const tasks = await samples(registry, METRIC_NAMES.tasks);
    expect(tasks.get(`${METRIC_NAMES.tasks},queue=default,task=echo,outcome=completed`)).toBe(3);
    expect(tasks.get(`${METRIC_NAMES.tasks},queue=default,task=doomed,outcome=retried`)).toBe(1);
    expect(tasks.get(`${METRIC_NAMES.tasks},queue=default,task=doomed,outcome=dead_lettered`)).toBe(1);
    const duration = await samples(registry, METRIC_NAMES.duration);
    expect(duration.get(`${METRIC_NAMES.duration}_count,queue=default,task=echo`)).toBe(3);
    expect(duration.get(`${METRIC_NAMES.duration}_count,queue=default,task=doomed`)).toBe(2);
    expect(duration.get(`${METRIC_NAMES.duration}_sum,queue=default,task=echo`)).toBeGreaterThanOrEqual(0);
  });

  it('keeps counting between scrapes: each scrape reads every run settled so far, once', async () => {
    t = await start();
    const completed = (series: Map<string, number>, task: string) =>
      series.get(`${METRIC_NAMES.tasks},queue=default,task=${task},outcome=completed`);
    for (let i = 0; i < 2; i++) await (await t.client.enqueue('echo', i)).result();
    await expectCounters(t.events, { completed: 2 });
    expect(completed(await samples(registry, METRIC_NAMES.tasks), 'echo')).toBe(2);
    // A scrape with nothing new settled reads the same totals.
    expect(completed(await samples(registry, METRIC_NAMES.tasks), 'echo')).toBe(2);

    for (let i = 0; i < 3; i++) await (await t.client.enqueue('echo', i)).result();
    await (await t.client.enqueue('once', 0)).result();
    await expectCounters(t.events, { completed: 6 });
    const tasks = await samples(registry, METRIC_NAMES.tasks);
    expect(completed(tasks, 'echo')).toBe(5);
    expect(completed(tasks, 'once')).toBe(1);
    await expect(registry.metrics()).resolves.toContain(
      `${METRIC_NAMES.tasks}{queue="default",task="echo",outcome="completed"} 5`,
    );
  });

  it('counts lease-lost, refused, superseded (by stage) and reclaimed runs from the event source', async () => {
    t = await start();
    // The event source is proven by its own specs; here, each event lands in its counter.
    const base = { queue: 'default', name: 'echo', taskId: 'x' };
    t.events.emit({ type: 'lease-lost', ...base });
    t.events.emit({ type: 'completion-refused', ...base, detail: 'owned-by-another' });
    t.events.emit({ type: 'superseded', ...base, detail: 'head' });
    t.events.emit({ type: 'superseded', ...base, detail: 'tail' });
    t.events.emit({ type: 'superseded', ...base, detail: 'tail' });
    t.events.emit({ type: 'reclaimed', queue: 'default', detail: '1-0' });
    expect(
      (await samples(registry, METRIC_NAMES.leaseLost)).get(`${METRIC_NAMES.leaseLost},queue=default,task=echo`),
    ).toBe(1);
    expect((await samples(registry, METRIC_NAMES.refused)).get(`${METRIC_NAMES.refused},queue=default,task=echo`)).toBe(
      1,
    );
    const superseded = await samples(registry, METRIC_NAMES.superseded);
    expect(superseded.get(`${METRIC_NAMES.superseded},queue=default,task=echo,stage=head`)).toBe(1);
    expect(superseded.get(`${METRIC_NAMES.superseded},queue=default,task=echo,stage=tail`)).toBe(2);
    expect((await samples(registry, METRIC_NAMES.reclaimed)).get(`${METRIC_NAMES.reclaimed},queue=default`)).toBe(1);
  });

  it('reads depth and oldest waiting age from Redis at scrape time, one inspect() per queue', async () => {
    t = await start(['default', 'other'], 2);
    const gate = new Latch();
    t.probe.on('echo', echoBlockedBy(gate));
    t.probe.on('once', () => {
      throw new Error('dead');
    });
    try {
      await expect((await t.client.enqueue('once', 0)).result()).rejects.toThrow('dead');
      await t.client.enqueue('echo', 'block');
      await t.client.enqueue('echo', 'block');
      await waitFor(async () => (await t.client.counts()).running === 2, { description: 'two runs' });
      for (let i = 0; i < 3; i++) await t.client.enqueue('echo', i);
      for (let i = 0; i < 2; i++) await t.client.enqueue('echo', i, { delayMs: 60_000 });

      const reads = jest.spyOn(t.client, 'inspect');
      const text = await registry.metrics();
      expect(reads.mock.calls.map(([queue]) => queue).sort()).toEqual(['default', 'other']);
      expect(text).toContain(`${METRIC_NAMES.depth}{queue="default",state="waiting"} 3`);
      expect(text).toContain(`${METRIC_NAMES.depth}{queue="default",state="delayed"} 2`);
      expect(text).toContain(`${METRIC_NAMES.depth}{queue="default",state="running"} 2`);
      expect(text).toContain(`${METRIC_NAMES.depth}{queue="default",state="orphaned"} 0`);
      expect(text).toContain(`${METRIC_NAMES.depth}{queue="default",state="dead_lettered"} 1`);
      expect(text).toContain(`${METRIC_NAMES.depth}{queue="other",state="waiting"} 0`);
      const oldest = await samples(registry, METRIC_NAMES.oldestWaiting);
      expect(oldest.get(`${METRIC_NAMES.oldestWaiting},queue=default`)).toBeGreaterThan(0);
      expect(oldest.get(`${METRIC_NAMES.oldestWaiting},queue=other`)).toBe(0);
      expect(text).toMatch(/# TYPE stream_queue_tasks_total counter/);
      expect(text).toMatch(/# TYPE stream_queue_task_duration_seconds histogram/);
    } finally {
      gate.open();
    }
  });

  // A gauge's read had no deadline: with Redis frozen (a stopped server, a half-open connection) a
  // scrape waited as long as Redis did, and Prometheus's scrape timeout then lost every counter
  // with it (a review finding; it failed).
  it('answers a scrape within timeoutMs when Redis does not answer: counters kept, gauges left out', async () => {
    let server: RedisServerHandle | undefined;
    try {
      server = await startRedisServer();
      t = await startApp({
        prefix,
        options: { worker: false, connection: { url: server.url } },
        imports: [StreamQueueMetricsModule.forRoot({ registry, queues: ['default'], timeoutMs: 300 })],
      });
      t.events.emit({ type: 'lease-lost', queue: 'default', name: 'echo', taskId: 'x' });
      await server.kill('SIGSTOP');
      const began = Date.now();
      const text = await Promise.race([
        registry.metrics(),
        new Promise<string>((resolve) => setTimeout(() => resolve('(no answer after 3 s)'), 3_000).unref()),
      ]);
      expect(Date.now() - began).toBeLessThan(1_500);
      expect(text).toMatch(/stream_queue_lease_lost_total\{queue="default",task="[^"]+"\} 1/);
      expect(text).not.toContain(`${METRIC_NAMES.depth}{`);
      // The next scrape awaits the read still unanswered: a frozen Redis holds one per queue.
      const reads = jest.spyOn(t.client, 'inspect');
      await registry.metrics();
      expect(reads).not.toHaveBeenCalled();
      reads.mockRestore();
      await server.kill('SIGCONT');
      // Answered again once Redis is.
      await waitFor(async () => (await registry.metrics()).includes(`${METRIC_NAMES.depth}{queue="default"`), {
        description: 'the gauges back',
      });
    } finally {
      await server?.kill('SIGCONT').catch(() => undefined);
      await closeApps();
      await server?.stop();
    }
  });

  it("uses prom-client's default registry when given none, and removes its metrics on close", async () => {
    t = await startApp({ prefix, imports: [StreamQueueMetricsModule.forRoot({})] });
    expect(register.getSingleMetric(METRIC_NAMES.tasks)).toBeDefined();
    await t.close();
    expect(register.getSingleMetric(METRIC_NAMES.tasks)).toBeUndefined();
  });

  it.each([
    [{ registry: {} as Registry }, 'registry'],
    [{ queues: 'default' as unknown as string[] }, 'queues'],
    [{ queues: ['bad name'] }, 'queues[0]'],
    [{ durationBuckets: [1, 0.5] }, 'durationBuckets'],
    [{ timeoutMs: 0 }, 'timeoutMs'],
  ])('fails bootstrap on a bad option, naming it (%#)', async (options, option) => {
    const compiling = Test.createTestingModule({
      // A client of the spec's own: a bootstrap that fails leaves no connection of the module's open.
      imports: [
        StreamQueueModule.forRoot(testOptions(prefix, { connection: redis })),
        StreamQueueMetricsModule.forRoot(options),
      ],
    }).compile();
    const error = (await compiling.catch((e: unknown) => e)) as InvalidOptionError;
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error.option).toBe(option);
  });

  it('fails bootstrap, naming the registry, when a second app registers in the same registry', async () => {
    t = await start();
    const second = Test.createTestingModule({
      imports: [
        StreamQueueModule.forRoot(testOptions(prefix, { worker: false, connection: redis })),
        StreamQueueMetricsModule.forRoot({ registry }),
      ],
    }).compile();
    const moduleRef = await second;
    const error = (await moduleRef.init().catch((e: unknown) => e)) as InvalidOptionError;
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error.option).toBe('registry');
    // Nest answers close() after a failed init with that init's error; the connections still close.
    await moduleRef.close().catch(() => undefined);
    // The first app's metrics are untouched.
    expect(registry.getSingleMetric(METRIC_NAMES.tasks)).toBeDefined();
  });
});
