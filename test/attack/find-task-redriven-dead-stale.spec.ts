import { deadLetterScript } from '../../lib/scripts/dead-letter.script';
import { sendClaim } from '../../lib/consumer/send-claim';
import { reclaimScript } from '../../lib/scripts/reclaim.script';
import { CONSUMER_GROUP } from '../../lib/stream-queue.constants';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { defineCheckedScripts } from '../scripts/script-fixture';
import { cleanupPrefix, closeAll, createRedis, randomPrefix } from '../utils/redis';

/**
 * Attack on the pending marker a keyed task's redrive leaves on its result key ({"ok":null}, a
 * day): the redriven run, cancelled while it ran, its worker then dead, is dead-lettered as poison
 * by the sweep, stale (dead-letter.lua stores nothing for a stale run, so the marker stays), and
 * redrive refuses that dead letter for good. findTask() found the task in the dead letters and
 * still said `pending: true`, for a day: no run of it will ever come. A task found dead-lettered
 * is not pending (a redrive takes the dead letter out, so a redriven run is found elsewhere).
 */
describe('findTask(): a keyed task redriven, cancelled while it ran, then dead-lettered as poison', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  let t: TestApp;

  beforeAll(async () => {
    defineCheckedScripts(redis);
    t = await startApp({ prefix, options: { worker: false } });
    await redis.xgroup('CREATE', t.keys.stream, CONSUMER_GROUP, '0', 'MKSTREAM').catch(() => undefined);
  });
  afterAll(async () => {
    await closeApps();
    await cleanupPrefix(redis, prefix);
    await closeAll();
  });

  /** Worker `consumer` reads the next entry and claims it: its entry id. */
  async function runOn(consumer: string, taskId: string): Promise<string> {
    await redis.set(t.keys.alive(consumer), `live-${consumer}`, 'PX', 60_000);
    const [[, [[entryId, raw]]]] = (await redis.xreadgroup(
      'GROUP',
      CONSUMER_GROUP,
      consumer,
      'COUNT',
      1,
      'STREAMS',
      t.keys.stream,
      '>',
    )) as [string, [string, string[]][]][];
    const verdicts = await sendClaim(redis, t.keys, {
      group: CONSUMER_GROUP,
      consumer,
      deferMs: 50,
      stateTtlMs: 60_000,
      liveness: `live-${consumer}`,
      messages: [{ entryId, taskId, generation: Number(raw[raw.indexOf('g') + 1]), key: 'k' }],
    });
    expect(verdicts.map((v) => v.verdict)).toEqual(['run']);
    return entryId;
  }

  /** `consumer` died: `sweeper` reclaims its run past the delivery limit and dead-letters it. */
  async function deadLetterAsPoison(entryId: string, consumer: string, sweeper: string, taskId: string) {
    await redis.del(t.keys.alive(consumer));
    const reclaimed = await reclaimScript(t.keys, {
      group: CONSUMER_GROUP,
      consumer: sweeper,
      maxDeliveries: 0,
      candidates: [{ entryId, owner: consumer }],
    }).run(redis);
    expect(JSON.stringify(reclaimed)).toContain(entryId);
    const dead = await deadLetterScript(t.keys, {
      group: CONSUMER_GROUP,
      consumer: sweeper,
      entryId,
      reason: 'poison',
      deadLetterMaxLen: 100,
      stateTtlMs: 60_000,
      resultTtlMs: 60_000,
      failure: '{"ok":false,"error":{"name":"DeadLetter","message":"poison"}}',
      taskId,
      key: 'k',
    }).run(redis);
    expect(dead).toBe('dead-lettered');
  }

  it('finds it dead-lettered and not pending', async () => {
    const { id } = await t.client.enqueue('echo', 'x', { key: 'k' });
    await deadLetterAsPoison(await runOn('w1', id), 'w1', 'w2', id);
    const [[firstDeadLetter]] = await redis.xrange(t.keys.deadLetter, '-', '+');
    await t.client.redrive(firstDeadLetter);
    expect(await redis.get(t.keys.result(id))).toBe('{"ok":null}');

    const entryId = await runOn('w3', id);
    expect(await t.client.findTask(id)).toMatchObject({ task: { state: 'running' }, pending: true });
    expect(await t.client.cancel('k')).toBe(true);
    await deadLetterAsPoison(entryId, 'w3', 'w4', id);

    expect(await redis.get(t.keys.result(id))).toBe('{"ok":null}'); // stale: nothing stored
    const found = await t.client.findTask(id);
    expect(found.task?.state).toBe('dead');
    expect(found).toEqual({ task: found.task, result: null });
  });
});
