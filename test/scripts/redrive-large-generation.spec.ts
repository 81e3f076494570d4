import { redriveScript } from '../../lib/scripts/redrive.script';
import { closeAll } from '../utils/helpers';
import { ScriptFixture } from './script-fixture';

/**
 * Review: redrive.lua wrote a keyed task's new generation with `tostring`, which Lua prints with
 * 14 significant digits: from 1e14 on, the call's record (what a resent redrive answers) held
 * "1.2345678901234e+14", read back as 123456789012340, and the redriven entry's field g the same
 * rounded text, a generation the key state (HSET of the number, 17 digits) does not hold. Both
 * are now written as the integer they are, as pause.lua writes its version.
 */
describe('redrive.lua and a generation of 1e14 or more', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  it('records, answers again and writes the generation whole', async () => {
    const gen = 123456789012345;
    await f.redis.set(f.keys.seq, String(gen - 1));
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
    const call = redriveScript(f.keys, { deadLetterId: deadLetterId!, taskId: 't1', key: 'k' }, 60_000);
    const first = await call.run(f.redis);
    expect(first).toMatchObject({ outcome: 'redriven', generation: gen });
    // The call's record (KEYS[5]) holds the generation as written, and a resend answers it.
    expect(JSON.parse((await f.redis.get(call.keys[4]))!)).toEqual([1, first.entryId, String(gen)]);
    expect(await call.run(f.redis)).toEqual(first);
    const [[, fields]] = await f.redis.xrange(f.keys.stream, first.entryId, first.entryId);
    expect(fields[fields.indexOf('g') + 1]).toBe(String(gen));
    expect(await f.redis.hget(f.keys.keyState('k'), 'gen')).toBe(String(gen));
  });
});
