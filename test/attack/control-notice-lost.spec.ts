import { randomUUID } from 'node:crypto';
import { QueueClient } from '../../lib';
import { QueueKeys } from '../../lib/redis/keys';
import { buildApp, closeHostileApps } from '../fixtures/hostile-tasks';
import { testOptions } from '../fixtures/test-app';
import { closeAll, createRedis, randomPrefix, testConnection, waitFor } from '../utils/redis';

/*
 * replace() and cancel() tell the worker running the key's older generation on the control
 * channel, and its handler's ctx.signal fires. A notice published while the worker's subscriber
 * connection was cut (a reset, a failover) was lost for good: the handler ran on, and since the
 * key's next generation waits for it, a handler that runs until aborted held the key for ever.
 */
describe('attack: a replace notice lost while the control connection was cut', () => {
  const redis = createRedis();
  afterEach(closeHostileApps);
  afterAll(closeAll);

  it.each([
    ['superseded', 'queued'],
    ['cancelled', 'cancelled'],
  ])(
    "the running handler's signal still fires (%s)",
    async (why, state) => {
      const prefix = randomPrefix();
      const keys = new QueueKeys(prefix, 'default');
      const connectionName = `sq-ctl-${randomUUID().slice(0, 8)}`;
      const app = await buildApp(testOptions(prefix, { connection: testConnection({ connectionName }) }));
      await app.init();
      let reason: unknown;
      app.probe.on('echo', async (_payload, ctx) => {
        await new Promise<void>((resolve) => {
          const fallback = setTimeout(resolve, 8_000);
          ctx.signal.addEventListener('abort', () => {
            reason = ctx.signal.reason;
            clearTimeout(fallback);
            resolve();
          });
        });
      });
      const handle = await app.moduleRef.get(QueueClient).enqueue('echo', 'runs until aborted', { key: 'k' });
      await waitFor(() => app.probe.runs.length === 1, { description: 'the run started' });

      const list = (await redis.client('LIST')) as string;
      const control = list
        .split('\n')
        .filter((line) => line.includes(` name=${connectionName} `) && / sub=[1-9]/.test(line))
        .map((line) => /\bid=(\d+)/.exec(line)![1]);
      expect(control).toHaveLength(1);
      // What replace() or cancel() writes, in the same step that cuts the subscriber: the notice
      // cannot reach it.
      const gen = handle.generation + 1;
      await redis
        .multi()
        .client('KILL', 'ID', control[0])
        .hset(keys.keyState('k'), 'gen', gen, 'state', state)
        .publish(keys.controlChannel, `${why}:${gen}:k`)
        .exec();

      await waitFor(() => reason !== undefined, { timeoutMs: 5_000, description: "the handler's signal aborted" });
      expect(String((reason as Error).message)).toMatch(why);
    },
    20_000,
  );
});
