import { redriveScript } from '../../lib/scripts/redrive.script';
import { closeAll } from '../utils/helpers';
import { ScriptFixture } from './script-fixture';

/**
 * Review: a keyed task cancelled while it ran, then dead-lettered, is redriven under its own id.
 * The key state's xid (the task cancelled last, which result() reads once a newer run holds the
 * key) still named it: after the redriven run completed and the key moved on, its handle read
 * cancelled. The redrive runs it again: its cancel is no longer its end.
 */
describe('redrive.lua and the cancelled task it runs again', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  it('clears the key state’s xid when it redrives the task it names', async () => {
    await f.redis.hset(f.keys.keyState('k'), 'state', 'cancelled', 'id', 't1', 'gen', '1', 'xid', 't1');
    const deadLetterId = await f.redis.xadd(
      f.keys.deadLetter,
      '*',
      'id',
      't1',
      'n',
      'job',
      'p',
      '1',
      'k',
      'k',
      'g',
      '1',
    );
    const reply = await redriveScript(f.keys, { deadLetterId: deadLetterId!, taskId: 't1', key: 'k' }).run(f.redis);
    expect(reply).toMatchObject({ outcome: 'redriven' });
    expect(await f.redis.hget(f.keys.keyState('k'), 'xid')).toBeNull();
    expect(await f.redis.hget(f.keys.keyState('k'), 'state')).toBe('queued');
  });
});
