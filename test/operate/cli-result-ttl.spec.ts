import { parseArgs } from '../../lib/cli/cli-args';
import { EXIT } from '../../lib/cli/cli-commands';
import { defineScripts } from '../../lib/redis/scripts';
import { resolveConfig } from '../../lib/stream-queue.config';
import { producerAppForSuite } from '../fixtures/test-app';
import { runCliInProcess } from '../utils/cli-in-process';
import { createRedis, keysMatching, randomPrefix, redisUrl } from '../utils/redis';

/**
 * The CLI has no Nest app, so no resultTtlMs: its `remove` kept what it leaves (an unkeyed task's
 * cancelled record, a keyed task's state, the call's record) for a fixed hour, whatever the app's
 * resultTtlMs. `--result-ttl-ms` gives the app's; without it, the library's default.
 */
describe("CLI --result-ttl-ms: how long a change's records are kept", () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  defineScripts(redis);
  const t = producerAppForSuite(prefix, redis);
  const base = () => ['--url', redisUrl(), '--prefix', prefix, '--yes'];
  const cli = (argv: string[]) => runCliInProcess(redis, [...argv, ...base()], false);
  const libraryDefault = resolveConfig({ connection: { url: redisUrl() } }).resultTtlMs;
  /** The PTTL of the repair-call records now in Redis (the call's answer, kept for a resend). */
  const callRecordTtls = async () =>
    Promise.all((await keysMatching(redis, `${t.keys.repairCall('*')}`)).map((k) => redis.pttl(k)));

  afterEach(async () => {
    for (const key of await keysMatching(redis, t.keys.repairCall('*'))) await redis.del(key);
  });

  it('is validated like the other options, and goes with the changes alone', () => {
    const url = ['--url', 'redis://h'];
    for (const bad of ['x', '-1', '1.5', '1e3', '99999999999999999'])
      expect(() => parseArgs(['remove', 't', ...url, '--result-ttl-ms', bad], {})).toThrow(
        /--result-ttl-ms: 0 \(keep nothing\) or an integer/,
      );
    expect(() => parseArgs(['inspect', ...url, '--result-ttl-ms', '5000'], {})).toThrow(/--result-ttl-ms goes with/);
    expect(() => parseArgs(['dlq', 'list', ...url, '--result-ttl-ms', '5000'], {})).toThrow(
      /--result-ttl-ms goes with/,
    );
    expect(parseArgs(['remove', 't', ...url, '--result-ttl-ms', '0'], {})).toMatchObject({ resultTtlMs: 0 });
    expect(parseArgs(['dlq', 'purge', '--all', ...url, '--result-ttl-ms=1000'], {})).toMatchObject({
      resultTtlMs: 1000,
    });
    expect(parseArgs(['remove', 't', ...url], {})).toMatchObject({ resultTtlMs: libraryDefault });
  });

  it("remove with it keeps the task's records for that long", async () => {
    const unkeyed = await t.client.enqueue('echo', 'a', { delayMs: 60_000 });
    const keyed = await t.client.enqueue('echo', 'b', { key: 'k-1', delayMs: 60_000 });
    expect((await cli(['remove', unkeyed.id, '--result-ttl-ms', '120000'])).code).toBe(EXIT.ok);
    expect((await cli(['remove', keyed.id, '--result-ttl-ms', '120000'])).code).toBe(EXIT.ok);
    for (const ttl of [
      await redis.pttl(t.keys.result(unkeyed.id)), // its cancelled record
      await redis.pttl(t.keys.keyState('k-1')),
      ...(await callRecordTtls()),
    ]) {
      expect(ttl).toBeGreaterThan(100_000);
      expect(ttl).toBeLessThanOrEqual(120_000);
    }
    expect(await callRecordTtls()).toHaveLength(2);
  });

  it("remove without it keeps them for the library's default resultTtlMs", async () => {
    const unkeyed = await t.client.enqueue('echo', 'c', { delayMs: 60_000 });
    expect((await cli(['remove', unkeyed.id])).code).toBe(EXIT.ok);
    for (const ttl of [await redis.pttl(t.keys.result(unkeyed.id)), ...(await callRecordTtls())]) {
      expect(ttl).toBeGreaterThan(libraryDefault - 20_000);
      expect(ttl).toBeLessThanOrEqual(libraryDefault);
    }
  });

  it("dlq purge with it keeps its call's record for that long", async () => {
    await redis.xadd(t.keys.deadLetter, '*', 'id', 't-9', 'n', 'echo', 'p', '1', 'reason', 'broke');
    expect((await cli(['dlq', 'purge', '--all', '--result-ttl-ms', '30000'])).code).toBe(EXIT.ok);
    const ttls = await callRecordTtls();
    expect(ttls).toHaveLength(1);
    expect(ttls[0]).toBeGreaterThan(10_000);
    expect(ttls[0]).toBeLessThanOrEqual(30_000);
  });
});
