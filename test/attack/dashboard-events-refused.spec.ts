import { randomUUID } from 'node:crypto';
import { Test } from '@nestjs/testing';
import type Redis from 'ioredis';
import { config as rxjsConfig } from 'rxjs';
import { StreamQueueModule } from '../../lib';
import { StreamQueueDashboardModule } from '../../lib/dashboard';
import { QueueHistory } from '../../lib/dashboard/queue-history';
import { closeModule } from '../fixtures/close-module';
import { RecordingLogger } from '../fixtures/recording-logger';
import { testOptions } from '../fixtures/test-app';
import { startRedisServer, type RedisServerHandle } from '../utils/redis-server';
import { closeAll, createRedis, waitFor } from '../utils/redis';

/**
 * The dashboard's charts count the fleet's events through events(), subscribed without an error
 * callback. Redis refusing that SUBSCRIBE (an ACL that grants the queue's other channels but not
 * its events channel) errored the Observable, and RxJS threw the unhandled error from a timer:
 * an uncaught exception, which ends a Node process, the first time anyone opened the page. The
 * charts go on without the counts, with a warning.
 */
describe('attack: the dashboard when Redis refuses its events subscription', () => {
  const prefix = `dash-${randomUUID().slice(0, 8)}`;
  const user = 'no-events';
  const password = `acl-secret-${randomUUID()}`;
  let server: RedisServerHandle;
  let admin: Redis;
  const unhandled: unknown[] = [];
  const previous = rxjsConfig.onUnhandledError;

  beforeAll(async () => {
    server = await startRedisServer();
    admin = createRedis({}, server.url);
    await admin.call(
      'ACL',
      'SETUSER',
      user,
      'reset',
      'on',
      `>${password}`,
      `~{${prefix}:*`,
      'resetchannels',
      `&{${prefix}:*}:done`,
      `&{${prefix}:*}:control`,
      '+@all',
    );
    // What RxJS would otherwise throw from a timer (an uncaught exception), kept for the assertion.
    rxjsConfig.onUnhandledError = (error) => unhandled.push(error);
  });
  afterAll(async () => {
    rxjsConfig.onUnhandledError = previous;
    await closeAll();
    await server.stop();
  });

  it('keeps sampling, warns, and throws nothing', async () => {
    const logger = new RecordingLogger();
    const moduleRef = await Test.createTestingModule({
      imports: [
        StreamQueueModule.forRoot(
          testOptions(prefix, {
            worker: false,
            connection: { url: `redis://${user}:${password}@127.0.0.1:${server.port}` },
          }),
        ),
        StreamQueueDashboardModule.forRoot({ path: '/queues', queues: ['default'] }),
      ],
    })
      .setLogger(logger)
      .compile();
    await moduleRef.init();
    try {
      const history = moduleRef.get(QueueHistory);
      history.history();
      await waitFor(() => unhandled.length > 0 || logger.warnings().some((w) => w.includes('NOPERM')), {
        description: 'the refusal, handled or not',
      });
      await waitFor(() => (history.history().default ?? []).length > 0, { description: 'a sample' });
      expect(unhandled.map(String)).toEqual([]);
    } finally {
      await closeModule(moduleRef);
    }
  });
});
