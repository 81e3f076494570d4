import { ApplicationClosedError } from '../../lib';
import { latencyProxy } from '../fixtures/latency-proxy';
import { closeApps, startApp } from '../fixtures/test-app';
import { useSpecRedis } from '../utils/spec-redis';
import { redisUrl } from '../utils/redis';

/**
 * Group commit holds an enqueue made while another is in flight until that one's reply. When the
 * application closes in between, QUIT goes out before the held enqueue, which Redis then never
 * runs: the enqueue rejected with ioredis's bare "Connection is closed.", not the typed error
 * that says nothing was written.
 */
describe('attack: an enqueue held by group commit when the application closes', () => {
  const { prefix, redis } = useSpecRedis();
  afterEach(closeApps);

  it('rejects with ApplicationClosedError and writes nothing; the one in flight lands', async () => {
    const proxy = await latencyProxy(redisUrl(), 100);
    try {
      const producer = await startApp({ prefix, options: { worker: false, connection: { url: proxy.url } } });
      const inFlight = producer.client.enqueue('echo', 'in flight');
      const held = producer.client.enqueue('echo', 'held');
      held.catch(() => undefined);
      await producer.close();

      await expect(inFlight).resolves.toMatchObject({ created: true });
      const error = await held.then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error).toBeInstanceOf(ApplicationClosedError);
      expect(error!.message).toMatch(/never sent/);
      const entries = await redis.xrange(producer.keys.stream, '-', '+');
      expect(entries.map(([, fields]) => fields[fields.indexOf('p') + 1])).toEqual(['"in flight"']);
    } finally {
      await proxy.close();
    }
  });
});
