import { RedriveRefusedError } from '../../lib';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, waitFor } from '../utils/redis';

/**
 * Review: two dead letters of one task id (a copy of one: anyone can write a dead letter, and an
 * operator may copy one back) were both redriven. redrive.lua checked a keyed task's key state
 * only for a newer run of the key, and an unkeyed task not at all: an unkeyed task went into the
 * stream twice under its one id (redriveAll took both), two runs of it at once; a keyed task's
 * second redrive, once its first redriven run completed, ran the completed task again and
 * replaced its result.
 */
describe('redrive of two dead letters of one task', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  let t: TestApp;
  let failing: Set<string>;

  beforeEach(async () => {
    await cleanupPrefix(redis, prefix);
    t = await startApp({ prefix });
    failing = new Set();
    t.probe.on('once', (payload, ctx) => {
      if (failing.has(String(payload))) throw new Error(`no ${String(payload)}`);
      return `${String(payload)} on attempt ${ctx.attempt}`;
    });
  });
  afterEach(closeApps);
  afterAll(async () => {
    await cleanupPrefix(redis, prefix);
    await closeAll();
  });

  /** Dead-letters a task of 'once' and copies its dead letter: [task id, first, copy]. */
  async function twoDeadLetters(payload: string, key?: string): Promise<[string, string, string]> {
    failing.add(payload);
    const handle = await t.client.enqueue('once', payload, { key });
    await expect(handle.result()).rejects.toThrow(`no ${payload}`);
    failing.delete(payload);
    const [[first, fields]] = await redis.xrange(t.keys.deadLetter, '-', '+');
    const copy = (await redis.xadd(t.keys.deadLetter, '*', ...fields))!;
    return [handle.id, first, copy];
  }

  /** The runs of `payload`, once every redriven entry settled (a settle deletes its entry). */
  async function runsOf(payload: string): Promise<number> {
    await waitFor(async () => (await redis.xlen(t.keys.stream)) === 0, { description: 'every entry settled' });
    return t.probe.runsOf('once').filter((r) => r.payload === payload).length;
  }

  it('runs an unkeyed task once: redriveAll keeps the copy, refused', async () => {
    const [id, , copy] = await twoDeadLetters('plain');
    const done = await t.client.redriveAll();
    await expect(t.client.handle(id).result({ timeoutMs: 5_000 })).resolves.toBe('plain on attempt 1');
    expect({ done, runs: await runsOf('plain') }).toEqual({
      done: { redriven: 1, refused: [{ deadLetterId: copy, reason: 'already-redriven' }] },
      runs: 2,
    });
  });

  it('does not run a keyed task again once its redriven run completed', async () => {
    const [id, first, copy] = await twoDeadLetters('keyed', 'k');
    await t.client.redrive(first);
    await expect(t.client.handle(id, { key: 'k' }).result({ timeoutMs: 5_000 })).resolves.toBe('keyed on attempt 1');
    const error = await t.client.redrive(copy).catch((e: unknown) => e);
    expect({
      refused: error instanceof RedriveRefusedError ? error.reason : String(error),
      runs: await runsOf('keyed'),
      state: (await t.client.status('k'))?.state,
    }).toEqual({ refused: 'already-redriven', runs: 2, state: 'completed' });
  });
});
