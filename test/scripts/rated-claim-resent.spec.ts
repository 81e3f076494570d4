import { loadLuaSource } from '../../lib/redis/lua-source';
import { claimScript, type ClaimScriptVerdict } from '../../lib/scripts/claim.script';
import type { FlowLimits } from '../../lib/scripts/enqueue-flow.script';
import { replyCuttingProxy, resentCall } from '../fixtures/reply-cutting-proxy';
import { closeAll, createRedis, redisUrl } from '../utils/redis';
import { defineCheckedScripts, GROUP, rateLimits, ScriptFixture } from './script-fixture';

/**
 * Review finding: the claim of a rate-limited run turned its admission's marker into a start
 * record (its token spent), and its reply was lost with the connection. ioredis resent it on the
 * next connection, where the marker was gone: the resend took the run for a restart, which needs
 * a token of its own. In a full window it answered 'wait' (a reservation made), so the worker
 * held a run Redis had counted started for a whole window, and then spent a second token on it;
 * in a window with room it counted a second start. One run, two tokens of its window.
 */
describe('a rated claim whose reply was lost after Redis ran it', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const startRecords = async () =>
    (await f.redis.zrange(f.keys.flow.starts, 0, -1)).filter((m) => !m.includes('\u00009999999999999'));

  it.each([
    ['a full window', 1],
    ['a window with room', 2],
  ])('in %s, the resend starts it on the one token it spent', async (_window, max) => {
    const proxy = await replyCuttingProxy(redisUrl());
    try {
      const behind = createRedis({}, proxy.url);
      defineCheckedScripts(behind);
      await f.redis.script('LOAD', loadLuaSource('claim'));
      const rate: FlowLimits = rateLimits({ max, perMs: 60_000 });
      const a = await f.enqueueFlow('rated-once', rate);
      const [[entryId]] = await f.deliver('w');

      const [verdict] = await resentCall<ClaimScriptVerdict[]>(proxy, entryId, () =>
        claimScript(f.keys, {
          group: GROUP,
          consumer: 'w',
          deferMs: 50,
          stateTtlMs: 60_000,
          messages: [{ entryId, taskId: a.id, generation: 0, key: undefined, rated: true }],
        }).run(behind),
      );

      expect(verdict.verdict).toBe('run');
      const records = await startRecords();
      expect(records).toHaveLength(1); // one start of the one window, no reservation
      expect(records[0]).toContain(`\u0000${entryId}\u00001`);
    } finally {
      await proxy.close();
    }
  });
});
