import { RedriveRefusedError, TaskCancelledError } from '../../lib';
import { deadLetterScript } from '../../lib/scripts/dead-letter.script';
import { sendClaim } from '../../lib/consumer/send-claim';
import { reclaimScript } from '../../lib/scripts/reclaim.script';
import { CONSUMER_GROUP } from '../../lib/stream-queue.constants';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { defineCheckedScripts } from '../scripts/script-fixture';
import { cleanupPrefix, closeAll, createRedis, randomPrefix } from '../utils/redis';

/**
 * Review: a keyed task cancelled while it ran, whose worker then died, is dead-lettered as poison
 * by the reclaim (dead-letter.lua: a stale run's dead letter still records it). Its key state
 * still names it, cancelled (xid), so redrive.lua, which refuses a superseded run (the state names
 * another task: key-moved-on), redrove it: the task the user cancelled ran again, and its handle
 * no longer read cancelled.
 */
describe('redrive of a cancelled keyed run dead-lettered as poison', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  let t: TestApp;

  beforeEach(async () => {
    await cleanupPrefix(redis, prefix);
    defineCheckedScripts(redis);
    t = await startApp({ prefix, options: { worker: false } });
    await redis.xgroup('CREATE', t.keys.stream, CONSUMER_GROUP, '0', 'MKSTREAM').catch(() => undefined);
  });
  afterEach(closeApps);
  afterAll(async () => {
    await cleanupPrefix(redis, prefix);
    await closeAll();
  });

  /** Enqueues on key 'k', runs it on worker 'w1', cancels it, and has 'w2' dead-letter it as poison once 'w1' died. */
  async function cancelledPoison(): Promise<{ id: string; deadLetterId: string }> {
    const handle = await t.client.enqueue('echo', 'x', { key: 'k' });
    await redis.set(t.keys.alive('w1'), 'live-1', 'PX', 60_000);
    const [[, [[entryId, raw]]]] = (await redis.xreadgroup(
      'GROUP',
      CONSUMER_GROUP,
      'w1',
      'COUNT',
      1,
      'STREAMS',
      t.keys.stream,
      '>',
    )) as [string, [string, string[]][]][];
    const gen = Number(raw[raw.indexOf('g') + 1]);
    const verdicts = await sendClaim(redis, t.keys, {
      group: CONSUMER_GROUP,
      consumer: 'w1',
      deferMs: 50,
      stateTtlMs: 60_000,
      liveness: 'live-1',
      messages: [{ entryId, taskId: handle.id, generation: gen, key: 'k' }],
    });
    expect(verdicts.map((v) => v.verdict)).toEqual(['run']);
    expect(await t.client.cancel('k')).toBe(true);
    // w1 dies mid-run; w2's sweep finds the entry past its delivery limit: poison.
    await redis.del(t.keys.alive('w1'));
    const reclaimed = await reclaimScript(t.keys, {
      group: CONSUMER_GROUP,
      consumer: 'w2',
      maxDeliveries: 0,
      candidates: [{ entryId, owner: 'w1' }],
    }).run(redis);
    expect(JSON.stringify(reclaimed)).toContain(entryId);
    const dead = await deadLetterScript(t.keys, {
      group: CONSUMER_GROUP,
      consumer: 'w2',
      entryId,
      reason: 'poison',
      deadLetterMaxLen: 100,
      stateTtlMs: 60_000,
      resultTtlMs: 60_000,
      failure: '{"ok":false,"error":{"name":"DeadLetter","message":"poison"}}',
      taskId: handle.id,
      key: 'k',
    }).run(redis);
    expect(dead).toBe('dead-lettered');
    const [[deadLetterId]] = await redis.xrange(t.keys.deadLetter, '-', '+');
    return { id: handle.id, deadLetterId };
  }

  it('is refused as cancelled: nothing runs, its handle and key still read cancelled', async () => {
    const { id, deadLetterId } = await cancelledPoison();
    await expect(t.client.handle(id, { key: 'k' }).result({ timeoutMs: 1_000 })).rejects.toBeInstanceOf(
      TaskCancelledError,
    );
    const error = await t.client.redrive(deadLetterId).catch((e: unknown) => e);
    expect({
      refused: error instanceof RedriveRefusedError ? error.reason : String(error),
      queued: await redis.xlen(t.keys.stream),
      state: (await t.client.status('k'))?.state,
      deadLetters: (await redis.xrange(t.keys.deadLetter, '-', '+')).map(([d]) => d),
    }).toEqual({ refused: 'cancelled', queued: 0, state: 'cancelled', deadLetters: [deadLetterId] });
    await expect(t.client.handle(id, { key: 'k' }).result({ timeoutMs: 1_000 })).rejects.toBeInstanceOf(
      TaskCancelledError,
    );
  });

  // Its key state expires (its TTL, or Redis evicts it): the dead letter itself says it was cancelled.
  it('is refused as cancelled once its key state has expired too, writing nothing', async () => {
    const { deadLetterId } = await cancelledPoison();
    await redis.del(t.keys.keyState('k'));
    const error = await t.client.redrive(deadLetterId).catch((e: unknown) => e);
    expect({
      refused: error instanceof RedriveRefusedError ? error.reason : String(error),
      queued: await redis.xlen(t.keys.stream),
      keyState: await redis.exists(t.keys.keyState('k')),
      deadLetters: (await redis.xrange(t.keys.deadLetter, '-', '+')).map(([d]) => d),
    }).toEqual({ refused: 'cancelled', queued: 0, keyState: 0, deadLetters: [deadLetterId] });
  });

  it('is kept by redriveAll, listed as refused for being cancelled', async () => {
    const { deadLetterId } = await cancelledPoison();
    expect(await t.client.redriveAll()).toEqual({ redriven: 0, refused: [{ deadLetterId, reason: 'cancelled' }] });
    expect(await redis.xlen(t.keys.stream)).toBe(0);
    expect((await t.client.status('k'))?.state).toBe('cancelled');
  });
});
