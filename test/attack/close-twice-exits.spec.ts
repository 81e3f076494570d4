import { spawnWorker } from '../utils/spawn-worker';
import { cleanupPrefix, closeAll, createRedis, randomPrefix } from '../utils/redis';

const WORKER_FILE = 'test/attack/fixtures/close-twice-worker.ts';

/*
 * Review finding: two app.close() calls at once (Nest's SIGTERM hook and one of the
 * application's, or a close in a test beside the suite's) each closed the module's connections:
 * the second found them already quitting, and its disconnect() armed ioredis's 2 s timer to
 * destroy a socket that had already closed. The process stayed up 2 s after close() resolved.
 */
describe('attack: app.close() called twice at once', () => {
  const redis = createRedis();
  const prefix = randomPrefix();
  afterAll(async () => {
    await cleanupPrefix(redis, prefix);
    await closeAll();
  });

  it.each([1, 2])(
    'with %i call(s), the process exits at once once they resolved',
    async (closes) => {
      const worker = await spawnWorker(WORKER_FILE, {
        env: { SQ_PREFIX: prefix, CLOSES: String(closes) },
      });
      await worker.waitForLine(/^closed$/);
      await expect(worker.exited).resolves.toMatchObject({ code: 0 });
      // By the worker's own clock, from "closed" to its 'exit' event: the timer of the bug held it 2 s.
      const stayedMs = Number(/^exit (\d+) ms after closed$/.exec(await worker.waitForLine(/^exit \d+ ms/))?.[1]);
      expect(stayedMs).toBeLessThan(1_000);
    },
    60_000,
  );
});
