import { randomUUID } from 'node:crypto';
import { ReplyError } from 'ioredis';
import { ControlChannelRefusedError } from '../../lib';
import { QueueKeys } from '../../lib/redis/keys';
import { ManyQueuesModule, queueName } from '../fixtures/many-queues.module';
import { Probe } from '../fixtures/probe';
import { startApp } from '../fixtures/test-app';
import { useAclRedis } from '../utils/acl-redis';

/** The error a promise rejected with (it must reject). */
const rejection = (promise: Promise<unknown>): Promise<Error> =>
  promise.then(
    () => {
      throw new Error('resolved; a rejection was expected');
    },
    (error: Error) => error,
  );

/**
 * A worker whose ACL user is not granted a queue's control channel: its bootstrap sent one
 * SUBSCRIBE for every control channel, Redis refused it whole, and the boot failed with Redis's
 * bare ReplyError ("NOPERM No permissions to access a channel"), naming neither the channel nor
 * the queue nor what to grant. It now subscribes one channel per SUBSCRIBE, as its resubscribes
 * do, and fails with ControlChannelRefusedError naming each refused channel and what to grant.
 */
describe('attack: a worker booting whose ACL user is refused a control channel', () => {
  const prefix = `ctl-boot-${randomUUID().slice(0, 8)}`;
  const user = 'control-refused-at-boot';
  const acl = useAclRedis();
  const [worker, q0, q1] = [
    new QueueKeys(prefix, 'default'),
    new QueueKeys(prefix, queueName(0)),
    new QueueKeys(prefix, queueName(1)),
  ];
  // Every channel of every queue but q0's control channel.
  const granted = [worker, q0, q1].flatMap((k) => [`&${k.doneChannel}`, `&${k.eventsChannel}`]);

  beforeAll(() =>
    acl.setUser(
      user,
      `~{${prefix}:*`,
      'resetchannels',
      ...granted,
      `&${worker.controlChannel}`,
      `&${q1.controlChannel}`,
      '+@all',
    ),
  );

  it('fails the boot naming the refused channel, its queue and what to grant', async () => {
    const error = await rejection(
      startApp({
        prefix,
        options: { connection: { url: acl.urlOf(user) } },
        imports: [ManyQueuesModule.register(2, new Probe())],
      }),
    );
    expect(error).toBeInstanceOf(ControlChannelRefusedError);
    const refused = error as ControlChannelRefusedError;
    expect(refused.code).toBe('CONTROL_CHANNEL_REFUSED');
    expect(refused.channels).toEqual([q0.controlChannel]);
    expect(refused.cause).toBeInstanceOf(ReplyError);
    expect(refused.message).toContain(`SUBSCRIBE to ${q0.controlChannel} (queue "${queueName(0)}")`);
    expect(refused.message).toContain('NOPERM');
    expect(refused.message).toContain(`&${q0.controlChannel}`);
    // The channels granted are not named as refused.
    expect(refused.message).not.toContain(q1.controlChannel);
  });
});
