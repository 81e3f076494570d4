import { claimScript, type ClaimScriptVerdict } from '../../lib/scripts/claim.script';
import type { FlowLimits } from '../../lib/scripts/enqueue-flow.script';
import { closeAll } from '../utils/helpers';
import { GROUP, LEASE_MS, ScriptFixture } from './script-fixture';

const rated: FlowLimits = { global: 0, group: 0, agingMs: 1000, rate: { max: 3, perMs: 60_000 } };
/** Records anyone with Redis access may write into the task's window: far more than its max. */
const PILE = 2_000;

/**
 * claim.lua's earlier start (includes/rate.lua rateEarlierRecord): a rated run claimed again before
 * its handler began finds its counted start to move it to now. It read every member of the window
 * from that start to now, looking for its own: a pile of records written there by anyone with
 * Redis access (found by the newest-code review) was read through by every such claim of the
 * partition. Honestly the window holds at most `max` starts: the record is looked up exactly at
 * its start, then among the window's newest `max` records (a claim whose reply was lost may have
 * moved it); a record buried under more than that is not read through, and the run takes a token
 * as a restart does (in a window that full, it waits).
 */
describe('claim.lua: the lookup of a run’s earlier start is bounded by the window’s max', () => {
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
  const startedAt = (v: ClaimScriptVerdict) => (v as { startedAt: number }).startedAt;
  const stamp = (ms: number) => String(ms).padStart(16, '0');
  /** A's first claim counts its start; a few ms pass, as before a run claimed again. */
  const claimedOnce = async (id = 'A') => {
    const a = await f.enqueueFlow(id, rated);
    await f.deliver('w');
    const [first] = await claim(a.entryId!, id);
    expect(first.verdict).toBe('run');
    await new Promise((r) => setTimeout(r, 5));
    return { entryId: a.entryId!, earlier: startedAt(first) };
  };
  /** PILE records of the task's window at `ms`, each sorting after any entry id's record there. */
  const pileAt = async (ms: number) => {
    const members = Array.from({ length: PILE }, (_, i) => `t\0job\0${stamp(ms)}\0~hostile-${i}\x000`);
    for (let i = 0; i < members.length; i += 500)
      await f.redis.zadd(f.keys.flow.starts, ...members.slice(i, i + 500).flatMap((m) => ['0', m]));
  };
  const ownRecords = async (entryId: string) =>
    (await f.redis.zrange(f.keys.flow.starts, 0, -1)).filter((m) => m.split('\0')[3] === entryId);

  it('honest: a record moved by a claim whose reply was lost is found among max records newer than others', async () => {
    const { entryId, earlier } = await claimedOnce();
    // B and C start after A: A's record is the oldest of the window's three.
    for (const id of ['B', 'C']) {
      const b = await f.enqueueFlow(id, rated);
      await f.deliver('w');
      expect((await claim(b.entryId!, id))[0].verdict).toBe('run');
    }
    // A claimed again, its reply lost (a connection reset): its record moved, the worker still knows `earlier`.
    expect((await claim(entryId, 'A', earlier))[0].verdict).toBe('run');
    await new Promise((r) => setTimeout(r, 5));
    const [retry] = await claim(entryId, 'A', earlier);
    expect(retry.verdict).toBe('run');
    expect(await ownRecords(entryId)).toEqual([expect.stringContaining(stamp(startedAt(retry)))]);
  });

  it('a record at its earlier start is found at once, however many records lie above it', async () => {
    const { entryId, earlier } = await claimedOnce();
    await pileAt(earlier);
    const [again] = await claim(entryId, 'A', earlier);
    expect(again.verdict).toBe('run');
    expect(await ownRecords(entryId)).toEqual([expect.stringContaining(stamp(startedAt(again)))]);
  });

  it('a moved record buried under more than max records is not read through: the run waits as a restart', async () => {
    const { entryId, earlier } = await claimedOnce();
    const [moved] = await claim(entryId, 'A', earlier); // its reply lost: the worker still knows `earlier`
    expect(moved.verdict).toBe('run');
    await pileAt(startedAt(moved));
    await new Promise((r) => setTimeout(r, 5));
    const [retry] = await claim(entryId, 'A', earlier);
    expect(retry.verdict).toBe('wait');
    // Its moved record still counts (it leaves by time), and a reservation waits for its token.
    expect((await ownRecords(entryId)).map((m) => m.split('\0')[2])).toEqual(
      expect.arrayContaining([stamp(startedAt(moved)), '9999999999999998']),
    );
  });
});
