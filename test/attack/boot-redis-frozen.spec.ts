import { RedisUnreachableError, StreamQueueModule } from '../../lib';
import { startRedisServer, type RedisServerHandle } from '../../lib/testing/redis-server';
import { bootstrapError } from '../fixtures/close-module';
import { ProbeModule } from '../fixtures/probe.module';
import { Probe } from '../fixtures/probe';
import { testOptions } from '../fixtures/test-app';
import { randomPrefix } from '../utils/redis';

const CONNECT_TIMEOUT_MS = 500;
/** Two attempts of connectTimeout and a retryDelay, with slack for a loaded machine: "does not hang". */
const BOOT_BOUND_MS = 10_000;

/**
 * A worker boots while its Redis is frozen (SIGSTOP: a stalled server, or a path that drops
 * packets): the TCP connect succeeds and ioredis's ready check (INFO) is never answered. Each
 * attempt waited for 'ready' or 'error', neither of which came, so init() never ended, whatever
 * retryAttempts said, and app.close() (which awaits init) never ended either.
 */
describe('attack: bootstrap while Redis is frozen', () => {
  let server: RedisServerHandle;

  beforeEach(async () => {
    server = await startRedisServer();
  });
  afterEach(async () => {
    await server.kill('SIGCONT');
    await server.stop();
  });

  it('fails with RedisUnreachableError after its attempts, each bounded by connectTimeout', async () => {
    await server.kill('SIGSTOP');
    const options = testOptions(randomPrefix(), {
      connection: { url: server.url, options: { connectTimeout: CONNECT_TIMEOUT_MS } },
      retryAttempts: 1,
      retryDelay: 100,
    });
    const booted = bootstrapError({
      imports: [StreamQueueModule.forRoot(options), ProbeModule.register(new Probe())],
    });
    const error = await Promise.race([
      booted,
      new Promise<string>((resolve) => setTimeout(() => resolve('still booting'), BOOT_BOUND_MS)),
    ]);
    expect(error).toBeInstanceOf(RedisUnreachableError);
    expect((error as Error).message).toMatch(/after 2 attempts.*no answer to the ready check within 500 ms/s);
  }, 30_000);
});
