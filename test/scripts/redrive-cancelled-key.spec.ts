import { redriveScript } from '../../lib/scripts/redrive.script';
import { closeAll } from '../utils/helpers';
import { ScriptFixture } from './script-fixture';

/**
 * Review: a keyed task cancelled while it ran, then dead-lettered, was redriven under its own id:
 * the task the user cancelled ran again (test/attack/redrive-cancelled-poison-run.spec.ts). It is
 * refused now, as a superseded one is, and its key state is left as it was. The key state's xid
 * (the task cancelled last, which result() reads once a newer run holds the key) is still dropped
 * when a redrive runs the task it names under a state that no longer says cancelled (a run of
 * generation 0 ended the key failed after the cancel): its cancel is no longer its end.
 */
describe('redrive.lua and a cancelled task', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  async function deadLetterOfT1(): Promise<string> {
    return (await f.redis.xadd(f.keys.deadLetter, '*', 'id', 't1', 'n', 'job', 'p', '1', 'k', 'k', 'g', '1'))!;
  }

  it('refuses a task its key state names cancelled, and writes nothing', async () => {
    await f.redis.hset(f.keys.keyState('k'), 'state', 'cancelled', 'id', 't1', 'gen', '2', 'xid', 't1');
    const deadLetterId = await deadLetterOfT1();
    const reply = await redriveScript(f.keys, { deadLetterId, taskId: 't1', key: 'k' }).run(f.redis);
    expect(reply).toMatchObject({ outcome: 'cancelled' });
    expect(await f.keyState('k')).toEqual({ state: 'cancelled', id: 't1', gen: '2', xid: 't1' });
    expect(await f.redis.xlen(f.keys.stream)).toBe(0);
    expect((await f.redis.xrange(f.keys.deadLetter, '-', '+')).map(([id]) => id)).toEqual([deadLetterId]);
  });

  it('clears the key state’s xid when it redrives the task it names', async () => {
    await f.redis.hset(f.keys.keyState('k'), 'state', 'failed', 'id', 't1', 'gen', '2', 'xid', 't1');
    const deadLetterId = await deadLetterOfT1();
    const reply = await redriveScript(f.keys, { deadLetterId, taskId: 't1', key: 'k' }).run(f.redis);
    expect(reply).toMatchObject({ outcome: 'redriven' });
    expect(await f.redis.hget(f.keys.keyState('k'), 'xid')).toBeNull();
    expect(await f.redis.hget(f.keys.keyState('k'), 'state')).toBe('queued');
  });
});
