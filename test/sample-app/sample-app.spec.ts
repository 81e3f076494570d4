import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { drain, testPrefix } from 'nest-stream-queue/testing';
import { AppModule } from '../../sample-app/app.module';
import { configureApp } from '../../sample-app/configure-app';
import { closeAll, cleanupPrefix, createRedis } from '../utils/helpers';
import { testClusterNodes, testTopology } from '../utils/test-topology';

// The sample as `npm run sample` runs it (API and worker in one process), over real HTTP.
describe('sample app (e2e)', () => {
  const prefix = testPrefix();
  const redis = createRedis();
  const env = {
    SQ_PREFIX: process.env.SQ_PREFIX,
    PORT: process.env.PORT,
    REDIS_CLUSTER_NODES: process.env.REDIS_CLUSTER_NODES,
    SQ_PARTITIONS: process.env.SQ_PARTITIONS,
  };
  let app: INestApplication;
  let base: string;

  beforeAll(async () => {
    process.env.SQ_PREFIX = prefix; // read through @nestjs/config, with REDIS_URL from the harness
    process.env.PORT = '0';
    if (testTopology() === 'cluster') {
      // `npm run test:cluster`: the same sample on the suite's cluster, switched by its
      // configuration alone (a cluster connection and 3 partitions per queue).
      process.env.REDIS_CLUSTER_NODES = testClusterNodes()
        .map(({ host, port }) => `${host}:${port}`)
        .join(',');
      process.env.SQ_PARTITIONS = '3';
    }
    app = configureApp(await NestFactory.create(AppModule.forRole('all'), { logger: false }));
    await app.listen(0, '127.0.0.1');
    base = await app.getUrl();
  });
  afterAll(async () => {
    await app?.close();
    for (const [name, value] of Object.entries(env)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await cleanupPrefix(redis, prefix);
    await closeAll();
  });

  const post = (path: string, body: unknown) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('POST /reports enqueues a report that a worker generates; its result link answers with it', async () => {
    const created = await post('/reports', { userId: 'ada', pages: 2 });
    expect(created.status).toBe(202);
    const { task, result } = (await created.json()) as { task: { id: string; key: string }; result: string };
    expect(task.key).toBe('report:ada');

    const answer = await fetch(`${base}${result}?timeoutMs=20000`);
    expect(answer.status).toBe(200);
    await expect(answer.json()).resolves.toMatchObject({ status: 'completed', result: { userId: 'ada', pages: 2 } });
    await drain(app, { timeoutMs: 10_000 });
  });

  it('rejects invalid bodies through the DTOs and ValidationPipe, enqueueing nothing', async () => {
    const before = await redis.xlen(`{${prefix}:reports}:stream`);
    const reports = await post('/reports', { userId: '', pages: 1_000, extra: true });
    expect(reports.status).toBe(400);
    const { message } = (await reports.json()) as { message: string[] };
    expect(message).toEqual(
      expect.arrayContaining([
        'property extra should not exist',
        'userId must be longer than or equal to 1 characters',
        'pages must not be greater than 200',
      ]),
    );
    expect((await post('/emails', { to: [] })).status).toBe(400);
    expect((await post('/emails', { to: 'a@example.com', subject: 7 })).status).toBe(400);
    await expect(redis.xlen(`{${prefix}:reports}:stream`)).resolves.toBe(before);
    await expect(redis.xlen(`{${prefix}:emails}:stream`)).resolves.toBe(0);
  });
});
