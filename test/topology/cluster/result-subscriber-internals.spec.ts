import { within } from '../../fixtures/hostile-tasks';
import {
  simulateSubscriberShape,
  SUBSCRIBER_SHAPES,
  type SubscriberShape,
} from '../../fixtures/ioredis-subscriber-shape';
import { heldEcho } from '../../fixtures/probe';
import { closeApps, logger, startApp } from '../../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, waitFor } from '../../utils/redis';

/** What the warning says of each shape. */
const NAMED: Record<SubscriberShape, string> = {
  'no Cluster.subscriber': '`cluster.subscriber` is missing',
  'no getInstance() (renamed)': '`cluster.subscriber.getInstance` is missing',
  'getInstance() gives a wrapper': '`cluster.subscriber.getInstance()` gave something else than an ioredis connection',
  'getInstance() throws': '`cluster.subscriber.getInstance()` threw (Error: ClusterSubscriber#getInstance is gone)',
};

/*
 * On a cluster, result() sends its SUBSCRIBEs once ioredis's subscriber connection is ready,
 * which it reads through ioredis internals (`cluster.subscriber.getInstance()`, ioredis 5.9 and
 * 6.1). An ioredis without them (renamed, or shaped otherwise) left the waits unsubscribed for
 * good: a task that settled after the wait's first read was heard only at the timeout, and with
 * `timeoutMs: Infinity` never; a getInstance() giving something else than a connection threw a
 * TypeError. Here every Cluster of the process shows another shape to the module (ioredis's own
 * code still reads the real one), and the task completes after the wait's first read: worker and
 * producer in one application, the settle goes on the same connection after that read.
 */
describe('result() on a cluster whose ioredis does not show its subscriber connection', () => {
  const redis = createRedis();
  const prefix = randomPrefix();
  let undo: (() => void) | undefined;

  afterEach(async () => {
    await closeApps();
    undo?.();
    await cleanupPrefix(redis, prefix);
  });
  afterAll(closeAll);

  it.each(Object.keys(SUBSCRIBER_SHAPES) as SubscriberShape[])(
    '%s: a task completed during the wait answers it, with one warning naming the internal',
    async (shape) => {
      undo = simulateSubscriberShape(shape);
      logger.lines.length = 0;
      const app = await startApp({ prefix });
      const { go, value } = heldEcho(app.probe);
      const handle = await app.client.enqueue('echo', 'x');
      await waitFor(() => app.probe.runsOf('echo').length === 1, { description: 'running' });

      const result = handle.result({ timeoutMs: Infinity });
      go.open();

      expect(await within(result, 5_000, 'result()')).toBe(value);
      const warnings = logger.warnings().filter((w) => w.includes('cluster.subscriber'));
      expect(warnings).toEqual([expect.stringContaining(NAMED[shape])]);
    },
  );
});
