import { claimScript } from '../../lib/scripts/claim.script';
import { enqueueFlowScript, type FlowLimits } from '../../lib/scripts/enqueue-flow.script';
import { closeAll } from '../utils/helpers';
import { waitFor } from '../utils/redis';
import { GROUP, LEASE_MS, ScriptFixture } from '../scripts/script-fixture';

/**
 * Attack on serving rate wakes (flowServeWakes): a due wake is removed, then the ring is fed with
 * a budget of 1,000 admissions (promote.lua). When a window frees more tokens than that at once
 * (max above 1,000: 1,200 runs started in one claim batch leave the window at one instant), the
 * feed stops at its budget with tokens still free, and sets no wake: a pass that ends on its
 * budget never meets a full window. The tasks left in the room have free tokens and nothing to
 * serve them: the next promotion sees no due wake and no delayed member, and does nothing.
 * Only settles of unrelated runs (one admission each) would move them. Guarantees 2 and 5:
 * "start as soon as the limit allows"; "no entry stuck in the room with no wake or feed".
 */
describe('attack: a wake that admits its budget strands the rest of the room', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const PER_MS = 300;
  const MAX = 1_200;
  const rate: FlowLimits = { global: 0, group: 0, agingMs: 1000, rate: { max: MAX, perMs: PER_MS } };
  const enqueue = (i: number) =>
    enqueueFlowScript(f.keys, { id: `t${i}`, name: 'job', payload: '{}', delayMs: 0, runAt: 0, limits: rate })
      .run(f.redis)
      .then((reply) => reply as { id: string; entryId?: string });
  const redisMs = async () => {
    const [s, us] = await f.redis.time();
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  };

  it('after the window frees 1,200 tokens, the 1,200 waiting tasks are all admitted', async () => {
    const replies = await Promise.all(Array.from({ length: 2 * MAX }, (_, i) => enqueue(i)));
    expect(replies.filter((r) => r.entryId !== undefined)).toHaveLength(MAX);
    expect(await f.redis.zcard(f.keys.flow.room)).toBe(MAX); // the room

    // A worker starts the 1,200 admitted runs in one claim batch: one start time for all.
    const delivered = await f.deliver('a', MAX);
    const verdicts = await claimScript(f.keys, {
      group: GROUP,
      consumer: 'a',
      deferMs: 50,
      stateTtlMs: LEASE_MS,
      messages: delivered.map(([entryId, fields]) => ({
        entryId,
        taskId: fields.id,
        generation: 0,
        key: undefined,
        rated: true,
      })),
    }).run(f.redis);
    const startedAt = (verdicts[0] as { startedAt: number }).startedAt;
    expect(verdicts.every((v) => v.verdict === 'run')).toBe(true);

    // The window moves past them all (a precondition, not an assertion on timing).
    await waitFor(async () => (await redisMs()) > startedAt + PER_MS + 50, { timeoutMs: 5_000 });
    await f.promote(); // serves the due wake
    await f.promote(); // any promotion after it
    await f.promote();

    const inWindow = await f.redis.zcard(f.keys.flow.starts);
    const waiting = await f.redis.zcard(f.keys.flow.room);
    const wakes = await f.redis.zcard(f.keys.flow.wake);
    // Tokens are free (only the new markers count), so nothing should still wait; and if
    // something did, a wake would have to be set for it.
    expect({ inWindow, waiting, wakes: waiting > 0 ? wakes : 'n/a' }).toEqual({
      inWindow: MAX,
      waiting: 0,
      wakes: 'n/a',
    });
  }, 30_000);
});
