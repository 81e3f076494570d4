import { closeAll } from '../utils/helpers';
import { ScriptFixture } from './script-fixture';

/**
 * A message without a generation (from before generations) is never stale, so it runs and settles
 * beside a newer run of its key; its settle ends the key's state only when that state is about it
 * (includes/end-run.lua). Otherwise the newer run, still queued, would read as completed and
 * expire, and an enqueue would add a second run beside it.
 */
describe('generation 0: a legacy run settling leaves the newer run of its key live', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  it('complete of the legacy run keeps the newer run live: not settled, no TTL, and it still runs', async () => {
    const [newer] = await f.enqueue({ key: 'k' });
    await f.redis.xadd(f.keys.stream, '*', 'id', 'legacy', 'n', 'job', 'p', '{}', 'a', '1', 'k', 'k');
    const delivered = await f.deliver('a');
    const [newerEntry, newerFields] = delivered.find(([, m]) => m.id === newer)!;
    const [legacyEntry] = delivered.find(([, m]) => m.id === 'legacy')!;
    expect(await f.claim('a', [{ entryId: legacyEntry, key: 'k', gen: 0 }])).toEqual(['run']);
    expect(await f.complete('a', [{ entryId: legacyEntry, id: 'legacy', gen: 0, key: 'k' }])).toEqual(['completed']);
    const state = await f.keyState('k');
    expect(state.id).toBe(newer);
    expect(state.state).not.toBe('completed');
    expect(state.finishedAt).toBeUndefined();
    expect(await f.redis.pttl(f.keys.keyState('k'))).toBe(-1);
    // Added to nothing: an enqueue of the key returns the live newer run.
    const [again, , outcome] = await f.enqueue({ key: 'k' });
    expect([again, outcome]).toEqual([newer, 'existing']);
    expect(await f.claim('a', [{ entryId: newerEntry, id: newer, key: 'k', gen: Number(newerFields.g) }])).toEqual([
      'run',
    ]);
  });
});
