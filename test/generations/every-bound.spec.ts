import { InvalidOptionError, QueueClient } from '../../lib';
import { buildApp, closeHostileApps, HostileTaskModule } from '../fixtures/hostile-tasks';
import { useProbeApps } from '../fixtures/probe-apps';
import { testOptions } from '../fixtures/test-app';
import { QueueKeys } from '../../lib/redis/keys';

/** Ten years of 365.25 days, in ms: the longest `every` accepted. */
const TEN_YEARS = 10 * 365.25 * 86_400_000;

/**
 * `every` took any safe integer (up to 2^53-1 ms, 285,000 years). A period past about 8.6e15 ms
 * times its first run past the last instant a JavaScript Date holds (8.64e15 ms), and Lua writes
 * a due time past 1e14 ms (its tostring's 14 digits) rounded, in exponent form: the chain was
 * accepted, its delayed member carried "d":"9.008995844e+15", and list('delayed'), status() and
 * schedules() showed no due time at all (no dueAt, no nextRunAt). `every` is now at most ten
 * years, refused at bootstrap (and by schedule() and enqueue()) with an InvalidOptionError naming
 * it. A review finding; the refusals failed (bootstrap succeeded, the schedule was written).
 */
describe('every is bounded to ten years', () => {
  const env = useProbeApps();
  afterEach(closeHostileApps);

  async function bootError(every: unknown): Promise<unknown> {
    const app = await buildApp(testOptions(env.prefix), { imports: [HostileTaskModule.register('job', { every })] });
    return app.init().then(
      () => undefined,
      (error: unknown) => error,
    );
  }

  it.each<[string, unknown]>([
    ['ten years and 1 ms', TEN_YEARS + 1],
    ['3653 days', '3653d'],
    ['2^53-1 ms', Number.MAX_SAFE_INTEGER],
  ])('a @Task every of %s fails bootstrap with an InvalidOptionError naming it, writing nothing', async (_, every) => {
    const error = await bootError(every);
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).option).toBe("@Task('job').every");
    expect((error as InvalidOptionError).message).toContain('10 years');
    expect(await env.redis.keys(`${env.prefix}*`)).toEqual([]);
  });

  it('ten years exactly boots, and its first run is listed with its due time', async () => {
    const app = await buildApp(testOptions(env.prefix), {
      imports: [HostileTaskModule.register('job', { every: TEN_YEARS })],
    });
    await app.init();
    const client = app.moduleRef.get(QueueClient);
    const [first] = (await client.list('delayed')).tasks;
    expect(first.dueAt).toBeInstanceOf(Date);
    expect(first.dueAt!.getTime() - Date.now()).toBeGreaterThan(TEN_YEARS - 60_000);
    const member = (await env.redis.zrange(new QueueKeys(env.prefix, 'default').delayed, 0, 0))[0];
    expect(JSON.parse(member).d).toMatch(/^\d+$/);
  });

  it('schedule() and enqueue() refuse it too, naming every, and write nothing', async () => {
    const app = await buildApp(testOptions(env.prefix), { imports: [HostileTaskModule.register('job')] });
    await app.init();
    const client = app.moduleRef.get(QueueClient);
    const before = await env.redis.keys(`${env.prefix}*`);
    for (const call of [
      client.schedule('job', null, { key: 'k', every: Number.MAX_SAFE_INTEGER }),
      client.enqueue('job', null, { key: 'k', every: TEN_YEARS + 1 } as never),
    ]) {
      const error = await call.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect((error as InvalidOptionError).option).toBe('every');
    }
    expect((await env.redis.keys(`${env.prefix}*`)).sort()).toEqual(before.sort());
  });
});
