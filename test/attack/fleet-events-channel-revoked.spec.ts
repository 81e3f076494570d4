import { randomUUID } from 'node:crypto';
import { Test } from '@nestjs/testing';
import { QueueClient, StreamQueueModule } from '../../lib';
import { QueueKeys } from '../../lib/redis/keys';
import { closeModule } from '../fixtures/close-module';
import { RecordingLogger } from '../fixtures/recording-logger';
import { testOptions } from '../fixtures/test-app';
import { useAclRedis } from '../utils/acl-redis';
import { waitFor } from '../utils/redis';

/**
 * An ACL change taking the events channel from a live subscriber's user: Redis disconnects the
 * subscribed client, ioredis reconnects and subscribes again, and Redis refuses. ioredis's own
 * SUBSCRIBE (autoResubscribe) has no handler: its rejection was unhandled, which ends a Node
 * process (here it failed the test). The subscription now resubscribes alone and errors, with
 * Redis's refusal.
 */
describe('attack: events() when an ACL change takes the events channel from its user', () => {
  const prefix = `evr-${randomUUID().slice(0, 8)}`;
  const user = 'revoked';
  const acl = useAclRedis();

  beforeAll(() => acl.setUser(user, `~{${prefix}:*`, '&*', '+@all'));

  it('errors the Observable', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        StreamQueueModule.forRoot(
          testOptions(prefix, {
            worker: false,
            connection: { url: acl.urlOf(user) },
          }),
        ),
      ],
    })
      .setLogger(new RecordingLogger())
      .compile();
    await moduleRef.init();
    const keys = new QueueKeys(prefix, 'default');
    const errors: Error[] = [];
    const subscription = moduleRef
      .get(QueueClient)
      .events()
      .subscribe({ error: (error: Error) => errors.push(error) });
    try {
      await waitFor(async () => (await acl.admin.exists(keys.eventsWatch)) === 1, { description: 'the watch' });
      await acl.admin.call('ACL', 'SETUSER', user, 'resetchannels', `&${keys.controlChannel}`, `&${keys.doneChannel}`);
      await waitFor(() => errors.length > 0, { description: 'the error', timeoutMs: 5_000 });
      expect(errors[0].message).toMatch(/NOPERM/);
    } finally {
      subscription.unsubscribe();
      await closeModule(moduleRef);
    }
  });
});
