import { Redis } from 'ioredis';
import { RedisUnreachableError } from '../../lib/errors';
import { moduleClient } from '../../lib/redis/module-client';
import { tellUnansweredApart } from '../../lib/redis/unanswered-given-up';
import { closeApps, startApp } from '../fixtures/test-app';
import { outcomeWithin } from '../utils/outcome-within';
import { randomPrefix, waitFor } from '../utils/redis';
import { startRedisServer, type RedisServerHandle } from '../utils/redis-server';

/** Apps booted and closed in turns: past the depth at which a chain of wrappers overflowed the stack. */
const TURNS = 20_000;

/** ioredis's flush of its queues (internal): what the module wraps. */
const flushOf = (redis: object) => (redis as { flushQueue?: unknown }).flushQueue;

/*
 * Attack on an ioredis client handed in as `connection` and shared by applications that boot and
 * close in turns (apps made per tenant, a suite booting one app per test on one client), each
 * booting before the previous one closed. To type ioredis's give-ups, each app wrapped the
 * client's flushQueue; the one closed while another's wrapper lay over its own left its wrapper
 * in place as a pass-through, so the client kept one more wrapper per app, for ever: memory
 * without bound, every flush walking the chain, and past a few thousand a flush overflowed the
 * stack (RangeError) in ioredis's close handler, so the application's own calls on its client were
 * never rejected, and the module's were not typed. The wrapper is now put on the client once,
 * each app a layer of it, and the last app's close gives the client its method back.
 */
describe('attack: apps sharing one handed-in client, booted and closed in turns', () => {
  let server: RedisServerHandle;
  let client: Redis;
  const address = () => `127.0.0.1:${server.port}`;
  beforeEach(async () => {
    server = await startRedisServer();
    // Gives a queued call up after its second failed reconnect: an outage long enough, quickly.
    client = new Redis(server.port, '127.0.0.1', { maxRetriesPerRequest: 1 });
    client.on('error', () => undefined); // the outages below are the point
    await client.ping();
  });
  afterEach(async () => {
    await closeApps();
    client.disconnect();
    await server.stop();
  });

  it(`still types a give-up after ${TURNS} apps, and the last close gives the client its flushQueue back`, async () => {
    const before = Object.getOwnPropertyDescriptor(client, 'flushQueue');
    let open = moduleClient(client);
    let close = tellUnansweredApart(client, address, open.isModuleCommand);
    for (let turn = 0; turn < TURNS; turn++) {
      // The next app boots before the open one closes.
      const next = moduleClient(client);
      const closeNext = tellUnansweredApart(client, address, next.isModuleCommand);
      close();
      [open, close] = [next, closeNext];
    }
    await server.kill('SIGKILL');
    await waitFor(() => client.status === 'reconnecting', { timeoutMs: 10_000, intervalMs: 5 });

    // Queued while Redis is away: ioredis gives both up at its next failed reconnect.
    const modules = (open.client as Redis).get('the-modules-key');
    const own = client.get('the-applications-own-key');
    const [moduleOutcome, ownOutcome] = await Promise.all([outcomeWithin(modules, 10_000), outcomeWithin(own, 10_000)]);

    expect(moduleOutcome).toBeInstanceOf(RedisUnreachableError);
    expect((moduleOutcome as RedisUnreachableError).mayHaveRun).toBe(false);
    expect((moduleOutcome as Error).message).toMatch(/ioredis gave the command up.*never sent/);
    // The application's own call is rejected, and with ioredis's own error.
    expect(ownOutcome).toBeInstanceOf(Error);
    expect((ownOutcome as Error).name).toBe('MaxRetriesPerRequestError');
    close();
    expect(Object.getOwnPropertyDescriptor(client, 'flushQueue')).toEqual(before);
    expect(flushOf(client)).toBe(flushOf(Redis.prototype));
    // Back, so that the client reconnects and closes as usual.
    await server.restart();
    await waitFor(() => client.status === 'ready', { timeoutMs: 10_000 });
  }, 60_000);

  it(`leaves a wrapper put over its own in place, and nests no second one under it in ${TURNS} apps`, async () => {
    const boot = () => {
      const view = moduleClient(client);
      return { view, close: tellUnansweredApart(client, address, view.isModuleCommand) };
    };
    const first = boot();
    // Another library (an instrumentation) wraps the method over the module's, and keeps it.
    const holder = client as unknown as { flushQueue: (this: Redis, ...args: unknown[]) => void };
    const under = holder.flushQueue;
    let flushesSeen = 0;
    const theirs = function (this: Redis, ...args: unknown[]) {
      flushesSeen++;
      under.apply(this, args);
    };
    holder.flushQueue = theirs;
    let open = boot();
    first.close();
    for (let turn = 0; turn < TURNS; turn++) {
      const next = boot();
      open.close();
      open = next;
    }
    await server.kill('SIGKILL');
    await waitFor(() => client.status === 'reconnecting', { timeoutMs: 10_000, intervalMs: 5 });

    const modules = (open.view.client as Redis).get('the-modules-key');
    const own = client.get('the-applications-own-key');
    const [moduleOutcome, ownOutcome] = await Promise.all([outcomeWithin(modules, 10_000), outcomeWithin(own, 10_000)]);

    expect(moduleOutcome).toBeInstanceOf(RedisUnreachableError);
    expect((ownOutcome as Error).name).toBe('MaxRetriesPerRequestError');
    expect(flushesSeen).toBeGreaterThan(0);
    open.close();
    // Theirs is not the module's to take off.
    expect(holder.flushQueue).toBe(theirs);
    await server.restart();
    await waitFor(() => client.status === 'ready', { timeoutMs: 10_000 });
  }, 60_000);

  it('two apps closed in the order opposite to their boots: the second still types its give-ups, and the client is left as found', async () => {
    const before = Object.getOwnPropertyDescriptor(client, 'flushQueue');
    const prefix = randomPrefix();
    // offlineTimeoutMs past ioredis's give-up: the error below is the typed give-up's, not the bound's.
    const options = { worker: false, connection: client, offlineTimeoutMs: 60_000 };
    const first = await startApp({ prefix, options });
    const second = await startApp({ prefix, options });
    await first.close();

    await server.kill('SIGKILL');
    await waitFor(() => client.status === 'reconnecting', { timeoutMs: 10_000, intervalMs: 5 });
    const outcome = await outcomeWithin(second.client.enqueue('echo', 'never-sent'), 10_000);

    expect(outcome).toBeInstanceOf(RedisUnreachableError);
    expect((outcome as RedisUnreachableError).mayHaveRun).toBe(false);
    expect((outcome as Error).message).toMatch(/ioredis gave the command up.*never sent/);
    await server.restart();
    await waitFor(() => client.status === 'ready', { timeoutMs: 10_000 });
    await second.close();
    expect(Object.getOwnPropertyDescriptor(client, 'flushQueue')).toEqual(before);
    expect(flushOf(client)).toBe(flushOf(Redis.prototype));
  }, 60_000);
});
