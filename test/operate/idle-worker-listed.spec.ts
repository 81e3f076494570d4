import { useSpecRedis } from '../utils/helpers';
import { closeApps, startApp } from '../fixtures/test-app';
import { cleanupPrefix, waitFor } from '../utils/redis';

// A worker that has read nothing yet is still a consumer of its queues: inspect() (and so the
// dashboard, the CLI and the health check's readers) lists it, alive, from its start. Redis
// creates a group's consumer only when a read hands it entries (a read that blocks on an empty
// stream creates none), so an idle queue listed no consumer at all: "nobody is consuming".
describe('an idle worker is listed as its queues consumer', () => {
  const { prefix, redis } = useSpecRedis();

  beforeEach(() => cleanupPrefix(redis, prefix));
  afterEach(() => closeApps());

  it('lists the worker, alive with its lease, before any task was enqueued', async () => {
    const t = await startApp({ prefix });
    // The worker's blocking read is under way on the empty stream.
    await waitFor(async () => ((await redis.xinfo('GROUPS', `{${prefix}:default}:stream`)) as unknown[]).length === 1, {
      description: 'the group',
    });
    const state = await t.client.inspect();
    expect(state.waiting).toBe(0);
    expect(state.consumers).toEqual([
      expect.objectContaining({ pending: 0, alive: true, name: expect.stringContaining(String(process.pid)) }),
    ]);
    expect(state.consumers[0].leaseLeftMs).toBeGreaterThan(0);
  });

  it('lists it again after its group was lost with the stream (a Redis flushed under it)', async () => {
    const t = await startApp({ prefix });
    await waitFor(async () => (await t.client.inspect()).consumers.length === 1, { description: 'listed' });
    await redis.del(`{${prefix}:default}:stream`);
    // Its next read meets NOGROUP and creates the group again, and its consumer with it.
    await waitFor(async () => (await t.client.inspect()).consumers.length === 1, {
      description: 'listed again',
      timeoutMs: 10_000,
    });
    expect((await t.client.inspect()).consumers[0]).toMatchObject({ alive: true, pending: 0 });
  });
});
