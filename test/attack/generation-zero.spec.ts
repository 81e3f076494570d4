import { closeAll, receivedSoFar } from '../utils/helpers';
import { ScriptFixture } from '../scripts/script-fixture';

/**
 * Attack on "gen 0 is never stale": parseEntry accepts a keyed entry without field g (a message
 * from before generations, or any XADD) as generation 0, and claim, complete, fail and
 * dead-letter never treat it as stale. Its tail then ends the key's state for good (state
 * completed, a TTL) although a newer generation of the key waits behind it: the key state no
 * longer says the newer run is live, so an `add` enqueue creates yet another run and the waiting
 * one is dropped as stale when promoted: an acknowledged enqueue lost without a replace.
 */
describe('attack: a generation-0 keyed run ends the state of a newer generation', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  it('a gen-0 run that completes leaves the waiting newer generation live', async () => {
    await f.redis.xadd(f.keys.stream, '*', 'id', 'legacy', 'n', 'job', 'p', '1', 'k', 'k');
    const [[legacyEntry]] = await f.deliver('a');
    expect(await f.claim('a', [{ entryId: legacyEntry, id: 'legacy', key: 'k', gen: 0 }])).toEqual(['run']);
    // A replace of the key while the legacy run runs: the new run waits behind it (deferred).
    const [newId, newGen] = await f.enqueue({ key: 'k', mode: 'replace' });
    const [[newEntry]] = await f.deliver('a');
    expect(await f.claim('a', [{ entryId: newEntry, id: newId, key: 'k', gen: newGen }])).toEqual(['deferred']);

    expect(await f.complete('a', [{ entryId: legacyEntry, id: 'legacy', key: 'k', gen: 0 }])).toEqual(['completed']);

    // The newer generation still waits in the delayed set: its key must say so, and keep no TTL.
    const state = await f.keyState('k');
    expect({ id: state.id, state: state.state }).toEqual({ id: newId, state: 'queued' });
    expect(await f.redis.pttl(f.keys.keyState('k'))).toBe(-1);
    // So an `add` enqueue returns it rather than creating a second run that drops it.
    const [addedId, , created] = await f.enqueue({ key: 'k' });
    expect([addedId, created]).toEqual([newId, 'existing']);
  });
});

describe('attack: an add enqueue while a generation-0 run of the key runs', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  it('adds a run with an id that waits behind the legacy one, and does not abort it', async () => {
    await f.redis.xadd(f.keys.stream, '*', 'id', 'legacy', 'n', 'job', 'p', '1', 'k', 'k');
    const [[legacyEntry]] = await f.deliver('a');
    expect(await f.claim('a', [{ entryId: legacyEntry, id: 'legacy', key: 'k', gen: 0 }])).toEqual(['run']);
    const sub = f.redis.duplicate();
    const control: string[] = [];
    await sub.subscribe(f.keys.controlChannel);
    sub.on('message', (_c, m) => control.push(m));
    const [id, gen, created] = await f.enqueue({ key: 'k' });
    expect([typeof id, id.length > 0, created]).toEqual(['string', true, 'created']);
    const [[entry]] = await f.deliver('b');
    expect(await f.claim('b', [{ entryId: entry, id, key: 'k', gen }])).toEqual(['deferred']); // deferred behind it
    const seen = await receivedSoFar(f.redis, f.keys.controlChannel, control);
    expect(seen.filter((m) => m.startsWith('superseded'))).toEqual([]);
    await sub.quit();
  });
});
