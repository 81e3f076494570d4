import type { INestApplication } from '@nestjs/common';
import { QueueKeys } from '../../lib/redis/keys';
import { defineScripts } from '../../lib/redis/scripts';
import { enqueueFlowScript } from '../../lib/scripts/enqueue-flow.script';
import { listenDashboardApp } from '../fixtures/dashboard-app';
import { waitingTaskIds } from '../fixtures/flow-state';
import { cleanupPrefix, closeAll, createRedis, randomPrefix } from '../utils/redis';

/**
 * The dashboard's redrive of a dead letter of a task under flow control whose slot is taken:
 * redrive.lua puts it in the waiting room with no stream entry (redrive() answers ''), and the
 * route answered `{"entryId":""}`, an entry id that is none, as the CLI did before 7247540. It now
 * answers `{"waitsForSlot":true}` (as a handle's waitsForSlot and the CLI's --json), no entry id.
 * A review finding; the test failed.
 */
describe('attack: the dashboard redrives a flow task that waits for its slot', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const keys = new QueueKeys(prefix, 'default');
  let app: INestApplication;
  let base: string;

  beforeAll(async () => {
    await cleanupPrefix(redis, prefix);
    defineScripts(redis);
    ({ app, base } = await listenDashboardApp(prefix));
    // 'holder' takes the task's only slot: a redriven task of it waits.
    await enqueueFlowScript(keys, {
      id: 'holder',
      name: 'job',
      payload: '{}',
      delayMs: 0,
      runAt: 0,
      limits: { global: 1, group: 0, agingMs: 1000 },
    }).run(redis);
    await redis.xadd(keys.deadLetter, '1-1', 'id', 'waiter', 'n', 'job', 'p', '{}', 'a', '3', 'fl', '1', 'gr', 'G');
    await redis.xadd(keys.deadLetter, '1-2', 'id', 'plain', 'n', 'job', 'p', '{}', 'a', '3');
  });
  afterAll(async () => {
    await app?.close();
    await cleanupPrefix(redis, prefix);
    await closeAll();
  });

  const redrive = async (id: string) => {
    const response = await fetch(`${base}/dead-letters/${id}/redrive`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('answers waitsForSlot, with no entry id', async () => {
    expect(await redrive('1-1')).toEqual({ status: 201, body: { waitsForSlot: true } });
    expect(await waitingTaskIds(redis, keys)).toContain('waiter');
  });

  it('answers the entry id of a task it appended', async () => {
    const { status, body } = await redrive('1-2');
    expect(status).toBe(201);
    expect(body).toEqual({ entryId: expect.stringMatching(/^\d+-\d+$/) });
    expect((await redis.xrange(keys.stream, body.entryId as string, body.entryId as string))[0][1]).toContain('plain');
  });
});
