import { trimRateStartsScript } from '../../lib/scripts/trim-rate-starts.script';
import { closeAll } from '../utils/helpers';
import { ScriptFixture } from './script-fixture';

/** 16-digit stamp, as rate.lua writes a start's time. */
const stamp = (ms: number) => String(ms).padStart(16, '0');

/**
 * trim-rate-starts.lua (checked rcall: every key declared): it removes what rateCount would trim
 * (records at or before now - perMs of their window), whatever window, and nothing else.
 */
describe('trim-rate-starts.lua', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const now = async () => {
    const [s, us] = await f.redis.time();
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  };
  const trimAll = async (count = 1000) => {
    let cursor = '';
    let removed = 0;
    do {
      const reply = await trimRateStartsScript(f.keys, { cursor, count }).run(f.redis);
      removed += reply.removed;
      cursor = reply.cursor;
    } while (cursor !== '');
    return removed;
  };

  it('removes records out of their window, keeps those in it, markers, reservations and odd members', async () => {
    // 'job': rateLimit 5 per 10 s, groupRateLimit 2 per 1 s (the limits record rate.lua reads).
    await f.redis.hset(f.keys.flow.limits, 'job', '0 0 1000 5 10000 2 1000');
    const t = await now();
    const kept = [
      `t\0job\0${stamp(t - 5_000)}\0${t}-0\x001`, // in the task's 10 s window
      `g\0job\0a\0${stamp(t - 100)}\0${t}-1\x001`, // in the group's 1 s window
      `g\0job\0b\0${'9'.repeat(16)}\0${t}-2`, // a marker: its run has not started
      `g\0job\0b\0${'9'.repeat(15)}8\0${t}-3`, // a reservation
      `t\0gone\0${stamp(t - 60_000)}\0${t}-4\x001`, // a task with no rates now, younger than any window
      'hostile member',
    ];
    const gone = [
      `t\0job\0${stamp(t - 20_000)}\0${t}-5\x001`,
      ...Array.from({ length: 30 }, (_, i) => `g\0job\0customer-${i}\0${stamp(t - 2_000)}\0${t}-${i + 6}\x001`),
    ];
    await f.redis.zadd(f.keys.flow.starts, ...[...kept, ...gone].flatMap((m) => ['0', m]));

    // Pages of 7: the walk goes on from its cursor and ends with ''.
    await expect(trimAll(7)).resolves.toBe(gone.length);
    expect((await f.redis.zrange(f.keys.flow.starts, 0, -1)).sort()).toEqual([...kept].sort());
  });

  it('answers an empty page for a missing set', async () => {
    await expect(trimRateStartsScript(f.keys, { cursor: '', count: 10 }).run(f.redis)).resolves.toEqual({
      removed: 0,
      cursor: '',
    });
  });
});
