import { schedulePeriodicScript } from '../../lib/scripts/schedule-periodic.script';
import { ScriptFixture } from '../scripts/script-fixture';
import { closeAll } from '../utils/helpers';

/**
 * At every boot a worker schedules each `@Task` periodic task (schedule-periodic.lua, mode boot):
 * a live chain of the same schedule is left alone and its run's generation replied, read with
 * tonumber from the key state, which anyone with Redis access can write. After `HSET <key state of
 * periodic:job> gen x` (or ''), every boot threw "schedule-periodic.lua replied an unknown code"
 * (Lua's nil cut the reply short); `inf` or `1e400` replied -2^63. A replace() resent after a lost
 * reply replied a generation of 400 digits as -2^63 too. A live chain whose stored generation is
 * not one is stale already (isStale compares it as a number): its runs would settle nothing and
 * schedule no successor, so the chain was lost however the reply read. Boot now re-times it as a
 * changed schedule (a fresh first run, a drawn generation); a resend's generation reads as 0
 * when it is not one. A review finding; the spec failed.
 */
describe('attack: a periodic chain whose stored generation is not one, at boot', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const boot = () =>
    schedulePeriodicScript(f.keys, {
      mode: 'boot',
      name: 'job',
      queue: 'q',
      schedule: { every: 60_000 },
      fires: [],
    }).run(f.redis);

  it.each(['x', '', 'inf', '1e400', '-1', '1.5', '9007199254740993'])(
    'gen %p: boot re-times the chain with a drawn generation',
    async (g) => {
      const first = await boot();
      expect(first.outcome).toBe('created');
      await f.redis.hset(f.keys.keyState('periodic:job'), 'gen', g);
      const again = await boot();
      expect(again.outcome).toBe('retimed');
      expect(Number.isSafeInteger(again.generation)).toBe(true);
      expect(again.generation).toBeGreaterThan(first.generation);
      expect((await f.keyState('periodic:job')).gen).toBe(String(again.generation));
      expect(await f.redis.zcard(f.keys.delayed)).toBe(1); // one run of the chain, not two
    },
  );

  // calls is the field a replace records itself in; rid, the one versions before wrote.
  it.each([
    ['calls', `resent-replace=${'9'.repeat(400)}`],
    ['rid', `resent-replace ${'9'.repeat(400)}`],
  ])('a resent replace() whose recorded generation (field %s) is not one reads generation 0', async (field, value) => {
    await boot();
    const call = schedulePeriodicScript(
      f.keys,
      { mode: 'replace', name: 'job', queue: 'q', payload: '{}', schedule: undefined, runAt: 0, delayMs: 0 },
      'resent-replace',
    );
    const replaced = await call.run(f.redis);
    expect(replaced.outcome).toBe('replaced');
    await f.redis.hdel(f.keys.keyState('periodic:job'), 'calls', 'rid');
    await f.redis.hset(f.keys.keyState('periodic:job'), field, value);
    const resent = await call.run(f.redis);
    expect([resent.outcome, resent.id, resent.generation]).toEqual(['replaced', 'resent-replace', 0]);
  });

  it('a live chain of the same schedule is left alone at boot (control)', async () => {
    const first = await boot();
    const again = await boot();
    expect([again.outcome, again.id, again.generation]).toEqual(['left-alone', first.id, first.generation]);
  });
});
