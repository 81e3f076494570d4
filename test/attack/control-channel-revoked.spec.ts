import { randomUUID } from 'node:crypto';
import { QueueKeys } from '../../lib/redis/keys';
import { ManyQueuesModule, queueName } from '../fixtures/many-queues.module';
import { Probe } from '../fixtures/probe';
import { closeApps, logger, startApp } from '../fixtures/test-app';
import { useAclRedis } from '../utils/acl-redis';
import { subscriberCount, waitFor } from '../utils/redis';

/**
 * An ACL change taking the control channel from a running worker's user: Redis drops the
 * worker's control subscriber, ioredis reconnects and resubscribes by itself, with a SUBSCRIBE
 * that has no handler, and Redis's NOPERM was an unhandled rejection (which ends a Node process;
 * here it failed the test), while the worker's own resubscribe swallowed it. The worker now
 * warns, naming the refusal and what it no longer hears (events() watchers among them).
 */
describe('attack: a worker when an ACL change takes the control channel from its user', () => {
  const prefix = `ctl-${randomUUID().slice(0, 8)}`;
  const user = 'control-revoked';
  const acl = useAclRedis();

  beforeAll(() => acl.setUser(user, `~{${prefix}:*`, '&*', '+@all'));
  // The first case's worker shares the prefix and the default queue: left running, its retry
  // subscribed the default control channel again once the second case granted '&*', and the
  // second case counted two subscribers there (a flake in about one run in four).
  afterEach(() => closeApps());

  it('warns, with no unhandled rejection', async () => {
    const worker = await startApp({
      prefix,
      options: { connection: { url: acl.urlOf(user) } },
    });
    const warned = logger.lines.length;
    await acl.admin.call(
      'ACL',
      'SETUSER',
      user,
      'resetchannels',
      `&${worker.keys.doneChannel}`,
      `&${worker.keys.eventsChannel}`,
    );
    await waitFor(
      () =>
        logger.lines
          .slice(warned)
          .some((l) => l.message.includes('NOPERM') && l.message.includes(worker.keys.controlChannel)),
      { description: 'the warning', timeoutMs: 5_000 },
    );
  });

  it("one queue's refused control channel leaves the worker listening on the others", async () => {
    await acl.admin.call('ACL', 'SETUSER', user, 'resetchannels', '&*');
    const worker = await startApp({
      prefix,
      options: { connection: { url: acl.urlOf(user) } },
      imports: [ManyQueuesModule.register(2, new Probe())],
    });
    const [q0, q1] = [new QueueKeys(prefix, queueName(0)), new QueueKeys(prefix, queueName(1))];
    await waitFor(async () => (await subscriberCount(acl.admin, q1.controlChannel)) === 1, {
      description: "q1's control channel subscribed",
    });
    const warned = logger.lines.length;
    const kept = [worker.keys, q0, q1].flatMap((k) => [`&${k.doneChannel}`, `&${k.eventsChannel}`]);
    await acl.admin.call(
      'ACL',
      'SETUSER',
      user,
      'resetchannels',
      ...kept,
      `&${worker.keys.controlChannel}`,
      `&${q1.controlChannel}`,
    );
    await waitFor(
      () =>
        logger.lines.slice(warned).some((l) => l.message.includes('NOPERM') && l.message.includes(q0.controlChannel)),
      { description: 'the warning', timeoutMs: 5_000 },
    );
    await waitFor(
      async () =>
        (await subscriberCount(acl.admin, q1.controlChannel)) === 1 &&
        (await subscriberCount(acl.admin, worker.keys.controlChannel)) === 1,
      { description: 'the other control channels subscribed again', timeoutMs: 5_000 },
    );
    const warning = logger.lines.slice(warned).find((l) => l.message.includes(q0.controlChannel))!;
    expect(warning.message).not.toContain(q1.controlChannel);
  });
});
