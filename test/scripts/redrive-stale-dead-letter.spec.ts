import { redriveScript } from '../../lib/scripts/redrive.script';
import { closeAll } from '../utils/helpers';
import { ScriptFixture } from './script-fixture';

/**
 * A run dead-lettered stale (its key cancelled or replaced while it ran) is refused by redrive
 * while its key state lives; once that state expired nothing told it any more, and the redrive ran
 * the cancelled task, or an older generation after its key's newer runs. Its dead letter now says
 * so itself (dead-letter.lua's last pair, 'stale'), out of reach of the task's own fields.
 */
describe('redrive.lua and the dead letter of a stale run', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  /** t1 on key 'k' running on w1, then replaced by t2; w1's run dead-lettered as poison: its dead letter. */
  async function supersededDeadLetter(): Promise<{ t1: string; deadLetterId: string }> {
    const [t1, gen] = await f.enqueue({ key: 'k' });
    const [[entryId]] = await f.deliver('w1');
    await f.redis.set(f.keys.alive('w1'), 'live-1', 'PX', 60_000);
    expect(await f.claim('w1', [{ entryId, id: t1, key: 'k', gen }])).toEqual(['run']);
    await f.enqueue({ key: 'k', mode: 'replace' });
    expect(await f.deadLetter('w1', entryId, 'poison', { id: t1, key: 'k' })).toBe('dead-lettered');
    const letters = await f.redis.xrange(f.keys.deadLetter, '-', '+');
    expect(letters).toHaveLength(1);
    return { t1, deadLetterId: letters[0][0] };
  }

  it('marks the dead letter of a superseded run, in its last pair', async () => {
    await supersededDeadLetter();
    const [[, raw]] = await f.redis.xrange(f.keys.deadLetter, '-', '+');
    expect(raw.slice(-2)).toEqual(['stale', 'superseded']);
  });

  it('refuses a superseded run once its key state has expired, writing nothing', async () => {
    const { t1, deadLetterId } = await supersededDeadLetter();
    await f.redis.del(f.keys.keyState('k'));
    const streamBefore = await f.redis.xrange(f.keys.stream, '-', '+');
    const reply = await redriveScript(f.keys, { deadLetterId, taskId: t1, key: 'k' }).run(f.redis);
    expect(reply).toMatchObject({ outcome: 'key-moved-on' });
    expect(await f.redis.xrange(f.keys.stream, '-', '+')).toEqual(streamBefore);
    expect(await f.redis.exists(f.keys.keyState('k'))).toBe(0);
    expect((await f.redis.xrange(f.keys.deadLetter, '-', '+')).map(([id]) => id)).toEqual([deadLetterId]);
  });

  it('takes no mark from the task’s own fields: a field named stale in the entry changes nothing', async () => {
    // A producer's own 'stale' field is copied ahead of the reason and the entry, never last.
    const deadLetterId = (await f.redis.xadd(
      f.keys.deadLetter,
      '*',
      'id',
      't9',
      'n',
      'job',
      'p',
      '1',
      'k',
      'k9',
      'g',
      '0',
      'stale',
      'cancelled',
      'reason',
      'poison',
      'entry',
      '1-0',
    ))!;
    const reply = await redriveScript(f.keys, { deadLetterId, taskId: 't9', key: 'k9' }).run(f.redis);
    expect(reply).toMatchObject({ outcome: 'redriven' });
  });
});
