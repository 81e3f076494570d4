import { periodicKey } from '../../lib';
import { HourlyTaskModule } from '../fixtures/hourly-task';
import { replyCuttingProxy, resentCall, type ReplyCuttingProxy } from '../fixtures/reply-cutting-proxy';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { useSpecRedis } from '../utils/spec-redis';
import { redisUrl } from '../utils/redis';

const TASK = 'attack.resent-after-another';
const KEY = periodicKey(TASK);

const PeriodicModule = HourlyTaskModule.register(TASK);

/**
 * replace() on a `@Task` periodic key (schedule-periodic.lua 'replace'), its reply lost with the
 * connection and resent by ioredis after another process replaced the key in between. The script
 * knew its own resend only while the key state's last replace (field rid) was this one, so the
 * resend took the newer replace() for an older state and acted again: it superseded the newer run
 * and put the older payload and period back, as enqueue.lua and schedule-runtime.lua did before
 * they kept the key's last calls (field calls). No worker runs: the runs stay queued.
 */
describe('attack: replace() on a periodic key resent after another replace()', () => {
  const { prefix, redis } = useSpecRedis();
  let proxy: ReplyCuttingProxy;
  let producer: TestApp; // behind the proxy: its reply is lost, and its call resent
  let other: TestApp; // straight on Redis: replaces the key between the first send and the resend

  beforeEach(async () => {
    proxy = await replyCuttingProxy(redisUrl());
    const imports = [PeriodicModule];
    producer = await startApp({ prefix, imports, options: { worker: false, connection: { url: proxy.url } } });
    other = await startApp({ prefix, imports, options: { worker: false } });
    // Redis knows the script before a reply is cut (a cut NOSCRIPT reply: the first send never ran).
    await producer.client.replace(TASK, 'warm', { key: KEY });
  });
  afterEach(async () => {
    await closeApps();
    await proxy.close();
  });

  /** The payloads of the key's runs waiting in the stream. */
  async function queuedPayloads(): Promise<string[]> {
    const entries = await redis.xrange(other.keys.stream, '-', '+');
    return entries.map(([, f]) => f[f.indexOf('p') + 1]);
  }

  it('leaves the newer run and its period alone, and answers with its own run', async () => {
    let first = '';
    let newer = '';

    const handle = await resentCall(
      proxy,
      '"first"',
      () => producer.client.replace(TASK, 'first', { key: KEY, every: '5s' }),
      async () => {
        first = (await redis.hget(other.keys.keyState(KEY), 'id'))!;
        newer = (await other.client.replace(TASK, 'second', { key: KEY, every: '1m' })).id;
      },
    );

    expect(handle.id).toBe(first);
    expect(await redis.hmget(other.keys.keyState(KEY), 'id', 'state', 'every')).toEqual([newer, 'queued', '60000']);
    expect(await queuedPayloads()).toEqual(['"second"']);
  });
});
