import type { INestApplication } from '@nestjs/common';
import { EXIT } from '../../lib/cli/cli-commands';
import { defineScripts } from '../../lib/redis/scripts';
import { QueuePartitions } from '../../lib/partitions/queue-partitions';
import { listenDashboardApp } from '../fixtures/dashboard-app';
import { runCliInProcess } from '../utils/cli-in-process';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, redisUrl } from '../utils/redis';

const P = 3;

// The dashboard's API and the CLI on a partitioned queue whose partitions hold the same
// dead-letter id: listings say which partition each is in; redrive, purge and inspect act on that
// one only, and refuse to guess.
describe('dead letters that partitions share an id: dashboard API and CLI', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const partitions = new QueuePartitions(prefix, 'default', P);
  let app: INestApplication;
  let base: string;

  beforeAll(async () => {
    await cleanupPrefix(redis, prefix);
    ({ app, base } = await listenDashboardApp(prefix, { queueOptions: { queues: { default: { partitions: P } } } }));
  });
  beforeEach(async () => {
    // The same entry id (and the same task id) dead-lettered in every partition, each with its reason.
    for (const p of [0, 1, 2]) {
      const dlq = partitions.keysFor(p).deadLetter;
      // Its result key too: a redrive of 'dup' in an earlier case marked it unsettled there, and a
      // redrive of a task redriven already is refused (already-redriven).
      await redis.del(dlq, partitions.keysFor(p).stream, partitions.keysFor(p).result('dup'));
      await redis.xadd(dlq, '1-1', 'id', 'dup', 'n', 'echo', 'p', `"p${p}"`, 'a', '1', 'reason', `failed in ${p}`);
    }
  });
  afterAll(async () => {
    await app?.close();
    await cleanupPrefix(redis, prefix);
    await closeAll();
  });

  const call = async (path: string, init?: RequestInit) => {
    const response = await fetch(`${base}/${path}`, {
      ...init,
      headers: { 'content-type': 'application/json' },
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const held = () => Promise.all([0, 1, 2].map((p) => redis.xlen(partitions.keysFor(p).deadLetter)));

  it('lists each dead letter with its partition', async () => {
    const { status, body } = await call('tasks?state=dead');
    expect(status).toBe(200);
    const tasks = body.tasks as { deadLetterId: string; partition: number; reason: string }[];
    expect(tasks.map((t) => [t.deadLetterId, t.partition, t.reason])).toEqual([
      ['1-1', 0, 'failed in 0'],
      ['1-1', 1, 'failed in 1'],
      ['1-1', 2, 'failed in 2'],
    ]);
  });

  it('redrives the dead letter of the partition it names, and refuses to guess', async () => {
    expect((await call('dead-letters/1-1/redrive', { method: 'POST' })).status).toBe(400);
    expect(await held()).toEqual([1, 1, 1]);
    const { status, body } = await call('dead-letters/1-1/redrive?partition=2', { method: 'POST' });
    expect(status).toBe(201);
    const stream = partitions.keysFor(2).stream;
    expect((await redis.xrange(stream, String(body.entryId), String(body.entryId)))[0][1]).toContain('"p2"');
    expect(await held()).toEqual([1, 1, 0]);
  });

  it('purges one dead letter in the partition it names, and refuses to guess', async () => {
    const purge = (body: unknown) => call('dead-letters/purge', { method: 'POST', body: JSON.stringify(body) });
    expect((await purge({ ids: ['1-1'] })).status).toBe(400);
    expect(await held()).toEqual([1, 1, 1]);
    expect(await purge({ ids: ['1-1'], partition: 1 })).toEqual({ status: 201, body: { purged: 1 } });
    expect(await held()).toEqual([1, 0, 1]);
  });

  it('inspects the task of the partition it names', async () => {
    for (const p of [0, 2]) {
      const { status, body } = await call(`tasks/dup?partition=${p}`);
      expect(status).toBe(200);
      expect(body.task).toMatchObject({ id: 'dup', state: 'dead', partition: p, reason: `failed in ${p}` });
    }
  });

  it('refuses a partition out of range or not a number, naming it, and changes nothing', async () => {
    const answers = [
      await call('dead-letters/1-1/redrive?partition=3', { method: 'POST' }),
      await call('dead-letters/1-1/redrive?partition=x', { method: 'POST' }),
      await call('dead-letters/purge', { method: 'POST', body: JSON.stringify({ ids: ['1-1'], partition: 3 }) }),
      await call('dead-letters/purge', { method: 'POST', body: JSON.stringify({ ids: ['1-1'], partition: -1 }) }),
      await call('tasks/dup?partition=7'),
    ];
    for (const { status, body } of answers) {
      expect(status).toBe(400);
      expect(body).toMatchObject({ code: 'INVALID_OPTION', message: expect.stringContaining('partition') });
    }
    expect(await held()).toEqual([1, 1, 1]);
  });

  it('the CLI lists the partition, takes --partition for redrive and purge, and refuses to guess', async () => {
    defineScripts(redis);
    const cli = (...argv: string[]) =>
      runCliInProcess(redis, [...argv, '--url', redisUrl(), '--prefix', prefix, '--yes'], true);
    expect((await cli('dlq', 'list')).out).toMatch(/DEAD LETTER\s+PARTITION[\s\S]*1-1\s+2\s/);
    expect(await cli('dlq', 'purge', '1-1')).toMatchObject({ code: EXIT.failed, err: /partition/ });
    expect(await cli('dlq', 'redrive', '1-1')).toMatchObject({ code: EXIT.failed, err: /partition/ });
    expect(await cli('dlq', 'purge', '1-1', '--partition', '3')).toMatchObject({ code: EXIT.failed, err: /partition/ });
    expect(await held()).toEqual([1, 1, 1]);
    expect(await cli('dlq', 'purge', '1-1', '--partition', '0')).toMatchObject({ code: EXIT.ok, out: /Purged 1-1/ });
    expect(await cli('dlq', 'redrive', '1-1', '--partition', '2')).toMatchObject({ code: EXIT.ok, out: /Redrove 1-1/ });
    expect(await held()).toEqual([0, 1, 0]);
    expect(await redis.xlen(partitions.keysFor(2).stream)).toBe(1);
  });
});
