import { ScriptFixture } from '../scripts/script-fixture';
import { closeAll, createRedis } from '../utils/redis';

/**
 * Attack on the done channel: cancel.lua tells result() waiters 'x:<id>' only when nothing of
 * the key is running; when a run is still running, "a running one says it when it settles".
 * But after replace() of a running key, the key's current run is the QUEUED replacement, and
 * the old run still running is another task: when it settles (stale) it says 'x:<old id>'. The
 * replacement, removed by the cancel, is never announced: a result() already waiting for it
 * waits until its timeout (forever without one), although Redis knows it was cancelled.
 */
describe('attack: cancel() of a key replaced while its older run still runs', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  it('the done channel names the cancelled replacement', async () => {
    const subscriber = createRedis();
    const heard: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => heard.push(...message.split(',')));
    await subscriber.subscribe(f.keys.doneChannel);

    const [oldId, oldGen] = await f.enqueue({ key: 'k' });
    const [[entry]] = await f.deliver('a');
    expect(await f.claim('a', [{ entryId: entry, id: oldId, key: 'k', gen: oldGen }])).toEqual(['run']);
    const [newId] = await f.enqueue({ key: 'k', mode: 'replace' }); // queued behind the running run
    expect(await f.cancel('k')).toBe('cancelled');
    // The old run finishes: stale, it writes nothing and announces itself.
    expect(await f.complete('a', [{ entryId: entry, id: oldId, key: 'k', gen: oldGen }])).toEqual(['superseded']);
    expect((await f.keyState('k')).state).toBe('cancelled');

    // Messages arrive in order: once the sentinel is heard, everything published before it was.
    await f.redis.publish(f.keys.doneChannel, 'sentinel');
    await new Promise<void>((resolve) => {
      const check = () => (heard.includes('sentinel') ? resolve() : setImmediate(check));
      check();
    });
    expect(heard).toContain(`x:${newId}`);
  });
});
