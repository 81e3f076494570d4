import { InvalidOptionError } from '../../lib';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { randomPrefix } from '../utils/redis';

/** An object nested `depth` levels deep under `field`. */
function nested(depth: number): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  let level = root;
  for (let i = 0; i < depth; i++) level = (level.field = {}) as Record<string, unknown>;
  return root;
}

/**
 * Every call reads its options once, copying plain objects to any depth (snapshotOptions), by
 * recursion: options nested deeper than the stack allows (a generated config, a mistake) made
 * enqueue() reject with "RangeError: Maximum call stack size exceeded", naming nothing, where
 * every other unusable option is an InvalidOptionError naming it. Nothing queued is touched.
 */
describe('attack: options nested past what the stack holds', () => {
  let producer: TestApp;
  beforeAll(async () => {
    producer = await startApp({ prefix: randomPrefix(), options: { worker: false } });
  });
  afterAll(closeApps);

  it('are an InvalidOptionError naming the option, and the client goes on', async () => {
    const error = await producer.client.enqueue('echo', 'deep', { durability: nested(50_000) } as never).then(
      () => undefined,
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).option).toBe('durability');
    expect((error as Error).message.length).toBeLessThan(300);
    await expect(producer.client.enqueue('echo', 'after')).resolves.toBeDefined();
  });
});
