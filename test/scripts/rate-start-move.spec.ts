import { claimScript, type ClaimScriptVerdict } from '../../lib/scripts/claim.script';
import type { FlowLimits } from '../../lib/scripts/enqueue-flow.script';
import { closeAll } from '../utils/helpers';
import { GROUP, LEASE_MS, ScriptFixture } from './script-fixture';

const rated: FlowLimits = { global: 0, group: 0, agingMs: 1000, rate: { max: 1, perMs: 60_000 } };

// claim.lua's earlier start: a rated run claimed again before its handler began (held by a pause,
// or its counted start gone stale) moves its start record to now instead of taking a token.
describe('claim.lua: a run claimed again moves its counted start', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const claim = (entryId: string, id: string, earlierStart?: number): Promise<ClaimScriptVerdict[]> =>
    claimScript(f.keys, {
      group: GROUP,
      consumer: 'w',
      deferMs: 50,
      stateTtlMs: LEASE_MS,
      messages: [{ entryId, taskId: id, generation: 0, key: undefined, rated: true, ownLimits: rated, earlierStart }],
    }).run(f.redis);
  /** A's first claim counts its start; a few ms pass, as before a run claimed again. */
  const claimedOnce = async () => {
    const a = await f.enqueueFlow('A', rated);
    await f.deliver('w');
    const [first] = await claim(a.entryId!, 'A');
    await new Promise((r) => setTimeout(r, 5));
    return { entryId: a.entryId!, earlier: (first as { startedAt: number }).startedAt };
  };
  const records = async () => (await f.redis.zrange(f.keys.flow.starts, 0, -1)).map((m) => m.split('\0')[2]);

  it('in a window of 1 its own record does not hold it back, and it stays one record', async () => {
    const { entryId, earlier } = await claimedOnce();
    const [again] = await claim(entryId, 'A', earlier);
    expect(again).toMatchObject({ verdict: 'run' });
    expect((again as { startedAt: number }).startedAt).toBeGreaterThan(earlier);
    expect(await records()).toEqual([String((again as { startedAt: number }).startedAt).padStart(16, '0')]);
  });

  it('a retry of a re-claim whose reply was lost finds the record it moved (the move is idempotent)', async () => {
    const { entryId, earlier } = await claimedOnce();
    // Run in Redis, its reply lost (a connection reset): the worker still knows only `earlier`.
    expect((await claim(entryId, 'A', earlier))[0].verdict).toBe('run');
    await new Promise((r) => setTimeout(r, 5));
    // A lookup at exactly `earlier` found nothing: the run waited a whole window, reserving a second token.
    const [retry] = await claim(entryId, 'A', earlier);
    expect(retry.verdict).toBe('run');
    expect(await records()).toHaveLength(1);
  });
});
