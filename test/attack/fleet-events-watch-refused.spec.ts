import { randomUUID } from 'node:crypto';
import { Test } from '@nestjs/testing';
import type Redis from 'ioredis';
import { QueueClient, StreamQueueModule } from '../../lib';
import { closeModule } from '../fixtures/close-module';
import { RecordingLogger } from '../fixtures/recording-logger';
import { testOptions } from '../fixtures/test-app';
import { startRedisServer, type RedisServerHandle } from '../utils/redis-server';
import { closeAll, createRedis, waitFor } from '../utils/redis';

/**
 * A subscriber's watch script (events-watch.lua) is what makes the workers publish: refused by
 * Redis's ACL (a user without EVALSHA and EVAL, or without write access to the queue's keys), it
 * failed quietly at every refresh, the SUBSCRIBE went through, and the subscription heard nothing
 * for ever. The Observable now errors, naming the refusal.
 */
describe('attack: events() of a user whose ACL refuses the watch script', () => {
  const prefix = `evw-${randomUUID().slice(0, 8)}`;
  const password = `acl-secret-${randomUUID()}`;
  let server: RedisServerHandle;
  let admin: Redis;

  beforeAll(async () => {
    server = await startRedisServer();
    admin = createRedis({}, server.url);
    // No scripts at all: EVALSHA and EVAL refused.
    await admin.call(
      'ACL',
      'SETUSER',
      'no-scripts',
      'reset',
      'on',
      `>${password}`,
      `~{${prefix}:*`,
      '&*',
      '+@all',
      '-evalsha',
      '-eval',
    );
    // The queue's keys readable, not writable: the script's ZADD refused.
    await admin.call(
      'ACL',
      'SETUSER',
      'read-only-keys',
      'reset',
      'on',
      `>${password}`,
      `%R~{${prefix}:*`,
      '&*',
      '+@all',
    );
  });
  afterAll(async () => {
    await closeAll();
    await server.stop();
  });

  it.each([
    ['no-scripts', /NOPERM/],
    ['read-only-keys', /NOPERM/],
  ])('as %s: the Observable errors, naming the watch and the refusal', async (user, refusal) => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        StreamQueueModule.forRoot(
          testOptions(prefix, {
            worker: false,
            connection: { url: `redis://${user}:${password}@127.0.0.1:${server.port}` },
          }),
        ),
      ],
    })
      .setLogger(new RecordingLogger())
      .compile();
    await moduleRef.init();
    const errors: Error[] = [];
    const subscription = moduleRef
      .get(QueueClient)
      .events()
      .subscribe({ error: (error: Error) => errors.push(error) });
    try {
      await waitFor(() => errors.length > 0, { description: 'the error', timeoutMs: 3_000 });
      expect(errors[0].message).toMatch(/events-watch/);
      expect(errors[0].message).toMatch(refusal);
      expect(subscription.closed).toBe(true);
    } finally {
      subscription.unsubscribe();
      await closeModule(moduleRef);
    }
  });
});
