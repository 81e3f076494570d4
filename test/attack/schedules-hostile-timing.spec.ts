import { producerAppForSuite } from '../fixtures/test-app';
import { createRedis, randomPrefix } from '../utils/redis';

/**
 * schedules() lists each runtime schedule's timing from its key state's signature (field sig,
 * JSON), which anyone with Redis access can write, and took any JSON number as a period and any
 * string as a cron: `"every":0.001`, `-1` or `1e400` (which JSON.parse reads as Infinity) were
 * listed as periods, a signature with neither `every` nor `cron` as a schedule of no timing, one
 * with both as an `every`, and `"cron":""` or a cron of 1,205 characters as crons. A signature
 * whose timing schedule() would refuse (parseEvery, checkCron; exactly one of `every` and `cron`)
 * now does not read as one, and the key is skipped as README says; the others are listed. A
 * review finding; the spec failed.
 */
describe('attack: hostile timing in a runtime schedule signature', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const t = producerAppForSuite(prefix, redis);

  const sig = (timing: string) => `{"name":"echo","payload":"1"${timing}}`;

  it.each([
    ['every 0.001', sig(',"every":0.001')],
    ['every 0', sig(',"every":0')],
    ['every -1', sig(',"every":-1')],
    ['every 10.5', sig(',"every":10.5')],
    ['every 1e300', sig(',"every":1e300')],
    ['every 1e400', sig(',"every":1e400')],
    ['every 2^53+1', sig(',"every":9007199254740993')],
    ['neither every nor cron', sig('')],
    ['both every and cron', sig(',"every":60000,"cron":"* * * * *"')],
    ['cron ""', sig(',"cron":""')],
    ['cron x', sig(',"cron":"x"')],
    ['cron of two fields', sig(',"cron":"0 8"')],
    ['cron of 1,205 characters', sig(`,"cron":"${'1,'.repeat(600)}1 * * * *"`)],
    ['an unknown zone', sig(',"cron":"0 9 * * 1","timezone":"Mars/Olympus_Mons"')],
    ['a zone with every', sig(',"every":60000,"timezone":"UTC"')],
  ])('%s: the key is skipped, the others listed', async (what, hostile) => {
    await t.client.schedule('echo', 'a', { key: `${what}:a`, every: 60_000 });
    await t.client.schedule('echo', 'b', { key: `${what}:b`, every: 60_000 });
    await t.client.schedule('echo', 'c', { key: `${what}:c`, cron: '0 9 * * 1', timezone: 'Europe/Paris' });
    await redis.hset(t.keys.keyState(`${what}:b`), 'sig', hostile);
    const page = await t.client.schedules({ limit: 1_000 });
    const listed = page.items.filter((s) => s.key.startsWith(`${what}:`));
    expect(listed.map((s) => [s.key, s.every, s.cron, s.timezone])).toEqual([
      [`${what}:a`, 60_000, undefined, undefined],
      [`${what}:c`, undefined, '0 9 * * 1', 'Europe/Paris'],
    ]);
  });

  it("a stored queue that is not the index's: listed under the queue whose index holds it", async () => {
    await t.client.schedule('echo', 'q', { key: 'queue:a', every: 60_000 });
    await redis.hset(t.keys.keyState('queue:a'), 'queue', 'elsewhere');
    const [listed] = (await t.client.schedules({ limit: 1_000 })).items.filter((s) => s.key === 'queue:a');
    expect(listed.queue).toBe(t.keys.queue);
  });
});
