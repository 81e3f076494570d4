import { periodicKey } from '../../lib';
import { HourlyTaskModule } from '../fixtures/hourly-task';
import { replyCuttingProxy, type ReplyCuttingProxy } from '../fixtures/reply-cutting-proxy';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { useSpecRedis } from '../utils/spec-redis';
import { redisUrl, waitFor } from '../utils/redis';

const TASK = 'attack.resent-periodic';
const KEY = periodicKey(TASK);
const runs: string[] = [];

const PeriodicModule = HourlyTaskModule.register(TASK, (ctx) => runs.push(ctx.id));

/**
 * replace() on a periodic key, its reply lost with the connection and the call resent by ioredis
 * once it reconnects. The run the first send made ran and scheduled its successor meanwhile, so
 * the key state names the successor: the resend superseded that successor and put the same run
 * in place again, and the task ran twice for one replace().
 */
describe('attack: replace() on a periodic key resent after its run settled', () => {
  const { prefix, redis } = useSpecRedis();
  let proxy: ReplyCuttingProxy;
  let producer: TestApp;
  let worker: TestApp;

  beforeEach(async () => {
    runs.length = 0;
    proxy = await replyCuttingProxy(redisUrl());
    producer = await startApp({
      prefix,
      imports: [PeriodicModule],
      options: { worker: false, connection: { url: proxy.url } },
    });
    worker = await startApp({ prefix, imports: [PeriodicModule] });
  });
  afterEach(async () => {
    await closeApps();
    await proxy.close();
  });

  it('the resend returns the run it made, which ran once; the successor stays', async () => {
    const keyState = worker.keys.keyState(KEY);
    await waitFor(async () => (await redis.hget(keyState, 'state')) === 'delayed', { description: 'the chain' });
    const cut = proxy.cutReplyTo('"replaced"');
    const releaseResend = proxy.holdNewConnections();
    const replaced = producer.client.replace(TASK, 'replaced', { key: KEY });
    await cut;
    await waitFor(() => runs.length === 1, { description: 'the replacing run ran' });
    await waitFor(async () => (await redis.hget(keyState, 'id')) !== runs[0], { description: 'its successor' });
    const successor = await redis.hmget(keyState, 'id', 'gen', 'state');
    releaseResend();
    const handle = await replaced;

    expect(handle.id).toBe(runs[0]);
    expect(await redis.hmget(keyState, 'id', 'gen', 'state')).toEqual(successor);
    expect(await redis.xlen(worker.keys.stream)).toBe(0);
    expect(runs).toEqual([handle.id]);
  });
});
