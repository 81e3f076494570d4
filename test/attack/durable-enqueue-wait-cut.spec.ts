import { ReplicationTimeoutError } from '../../lib';
import { replyCuttingProxy, type ReplyCuttingProxy } from '../fixtures/reply-cutting-proxy';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { startRedisServer, type RedisServerHandle } from '../utils/redis-server';
import { closeAll, createRedis, randomPrefix } from '../utils/redis';

/**
 * A durable enqueue is its script and WAIT in one pipeline. WAIT blocks on Redis (up to
 * `timeoutMs`) after the script answered, so a connection dropped meanwhile (a failover: when
 * durability matters) leaves the task written and WAIT unanswered: ioredis aborts WAIT ("Command
 * aborted due to connection close") and does not resend it. enqueue() rejected with that bare
 * AbortError, saying neither that the task was written nor which one: a caller retrying it
 * enqueued the task twice. It must reject as a WAIT short of its replicas does,
 * ReplicationTimeoutError naming the task written.
 */
describe('attack: a durable enqueue whose WAIT was cut', () => {
  let server: RedisServerHandle;
  let proxy: ReplyCuttingProxy;
  let producer: TestApp;

  beforeAll(async () => {
    server = await startRedisServer(); // no replica: WAIT 1 blocks for its whole timeout
    proxy = await replyCuttingProxy(server.url);
    producer = await startApp({
      prefix: randomPrefix(),
      options: { worker: false, connection: { url: proxy.url } },
    });
  });
  afterAll(async () => {
    await closeApps();
    await closeAll();
    await proxy.close();
    await server.stop();
  });

  it('rejects with ReplicationTimeoutError naming the task written', async () => {
    const marker = `durable-${randomPrefix()}`;
    // The script's reply reaches the client (WAIT is still blocking), then the connection drops.
    const cut = proxy.cutReplyTo(marker, 1_000_000);
    const enqueued = producer.client.enqueue('echo', marker, { durability: { replicas: 1, timeoutMs: 5_000 } });
    const error = await enqueued.then(
      () => undefined,
      (e: unknown) => e,
    );
    await cut;

    expect(error).toBeInstanceOf(ReplicationTimeoutError);
    const timeout = error as ReplicationTimeoutError;
    expect(timeout.message).toMatch(/was written/);
    // The task is written, once, under the id the error names.
    const redis = createRedis({}, server.url);
    const entries = await redis.xrange(producer.keys.stream, '-', '+');
    expect(entries).toHaveLength(1);
    expect(entries[0][1].join(' ')).toContain(timeout.taskId);
  });
});
