import { randomUUID } from 'node:crypto';
import { ResultChannelRefusedError } from '../../lib';
import { QueueKeys } from '../../lib/redis/keys';
import { ManyQueuesModule, queueName, taskName } from '../fixtures/many-queues.module';
import { Probe } from '../fixtures/probe';
import { startApp } from '../fixtures/test-app';
import { useAclRedis } from '../utils/acl-redis';
import { subscriberCount, waitFor } from '../utils/redis';

/**
 * An ACL change taking the done channel from the user of a process whose result() waits: Redis
 * drops its results subscriber, ioredis reconnected and resubscribed by itself, with a SUBSCRIBE
 * that has no handler, and Redis's NOPERM was an unhandled rejection (which ends a Node process;
 * here it failed the test), while the wait went on deaf until its timeout. The wait now reads the
 * task's state once and, with the task unsettled, rejects with ResultChannelRefusedError.
 */
describe('attack: result() when an ACL change takes the done channel from its user', () => {
  const prefix = `rcr-${randomUUID().slice(0, 8)}`;
  const user = 'result-revoked';
  const acl = useAclRedis();

  beforeAll(() => acl.setUser(user, `~{${prefix}:*`, '&*', '+@all'));

  it('rejects the wait with a typed error, with no unhandled rejection', async () => {
    // No worker: the task stays pending, and only the done channel could end the wait early.
    const producer = await startApp({
      prefix,
      options: { worker: false, connection: { url: acl.urlOf(user) } },
    });
    const handle = await producer.client.enqueue('echo', 'never run');
    const started = Date.now();
    const waiting = handle.result({ timeoutMs: 20_000 });
    const outcome = waiting.then(
      () => 'resolved',
      (error: unknown) => error,
    );
    await waitFor(async () => (await subscriberCount(acl.admin, producer.keys.doneChannel)) === 1, {
      description: 'the results subscriber',
    });
    await acl.admin.call('ACL', 'SETUSER', user, 'resetchannels', `&${producer.keys.controlChannel}`);
    const error = await outcome;
    expect(error).toBeInstanceOf(ResultChannelRefusedError);
    expect((error as ResultChannelRefusedError).code).toBe('RESULT_CHANNEL_REFUSED');
    expect((error as Error).message).toContain(handle.id);
    expect((error as Error).message).toMatch(/NOPERM/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('refused from the start: answers a task already settled, rejects one still pending', async () => {
    // The channel stays refused from the test above. A worker of the server's default user settles one.
    const worker = await startApp({ prefix, options: { connection: { url: acl.url } } });
    const settled = await worker.client.enqueue('echo', 'settled');
    await expect(settled.result({ timeoutMs: 10_000 })).resolves.toBe('settled');
    await worker.close();
    const producer = await startApp({
      prefix,
      options: { worker: false, connection: { url: acl.urlOf(user) } },
    });
    await expect(producer.client.handle(settled.id, settled.toJSON()).result({ timeoutMs: 10_000 })).resolves.toBe(
      'settled',
    );
    const pending = await producer.client.enqueue('echo', 'never run');
    await expect(pending.result({ timeoutMs: 10_000 })).rejects.toBeInstanceOf(ResultChannelRefusedError);
  });

  it("one queue's refused channel ends no wait on another queue", async () => {
    await acl.admin.call('ACL', 'SETUSER', user, 'resetchannels', '&*');
    const asUser = acl.urlOf(user);
    const producer = await startApp({
      prefix,
      options: { worker: false, connection: { url: asUser } },
      imports: [ManyQueuesModule.register(2, new Probe())],
    });
    const [q0, q1] = [new QueueKeys(prefix, queueName(0)), new QueueKeys(prefix, queueName(1))];
    const refused = (await producer.client.enqueue(taskName(0), 'q0')).result({ timeoutMs: 20_000 });
    const outcome = refused.then(
      () => 'resolved',
      (error: unknown) => error,
    );
    const heard = (await producer.client.enqueue(taskName(1), 'q1')).result({ timeoutMs: 20_000 });
    await waitFor(
      async () =>
        (await subscriberCount(acl.admin, q0.doneChannel)) + (await subscriberCount(acl.admin, q1.doneChannel)) === 2,
      { description: 'both done channels subscribed' },
    );
    await acl.admin.call('ACL', 'SETUSER', user, 'resetchannels', `&${q1.doneChannel}`, `&{${prefix}:*:control`);
    expect(await outcome).toBeInstanceOf(ResultChannelRefusedError);
    await waitFor(async () => (await subscriberCount(acl.admin, q1.doneChannel)) === 1, {
      description: "q1's done channel subscribed again",
    });
    // A worker of the server's default user runs q1's task: its wait hears it.
    await startApp({
      prefix,
      options: { connection: { url: acl.url } },
      imports: [ManyQueuesModule.register(2, new Probe())],
    });
    await expect(heard).resolves.toBe('q1');
  });
});
