import { InvalidOptionError } from '../../lib';
import { Probe } from '../fixtures/probe';
import { Latch, sleep, useSpecRedis } from '../utils/helpers';
import { closeApps, startApp } from '../fixtures/test-app';

/**
 * `result({ timeoutMs })` past the longest Node timer (2^31 - 1 ms) waits without a timer:
 * Node turns such a delay into 1 ms, which rejected the wait at once.
 */
describe('result() timeouts', () => {
  const { prefix } = useSpecRedis();
  afterEach(closeApps);

  /** 'pending' if `promise` has not settled after `ms` (the property under test), else how it settled. */
  const stateAfter = (promise: Promise<unknown>, ms: number) =>
    Promise.race([
      promise.then(
        () => 'resolved',
        (error: Error) => `rejected: ${error.message}`,
      ),
      sleep(ms).then(() => 'pending'),
    ]);

  it('timeoutMs 2**31 and Infinity wait for the result instead of rejecting after 1 ms', async () => {
    const latch = new Latch();
    const probe = new Probe().on('echo', async (payload) => {
      await latch.wait();
      return payload;
    });
    const app = await startApp({ prefix, probe });
    const handle = await app.client.enqueue('echo', 'done');
    const long = handle.result({ timeoutMs: 2 ** 31 });
    const forever = handle.result({ timeoutMs: Infinity });
    const huge = handle.result({ timeoutMs: Number.MAX_SAFE_INTEGER });

    expect(await stateAfter(Promise.all([long, forever, huge]), 200)).toBe('pending');
    latch.open();
    await expect(Promise.all([long, forever, huge])).resolves.toEqual(['done', 'done', 'done']);
  });

  it.each([-1, 1.5, Number.NaN, -Infinity, '100'])('refuses timeoutMs %p, naming it', async (timeoutMs) => {
    const app = await startApp({ prefix, options: { worker: false } });
    const handle = await app.client.enqueue('echo', 'x');
    const error = await handle.result({ timeoutMs: timeoutMs as number }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).option).toBe('timeoutMs');
  });

  // result(5000) for result({ timeoutMs: 5000 }) waited the default 30 s, the number ignored;
  // so did result('5000') or result(null). A review finding; it failed.
  it.each([5_000, '5000', null, true, [5_000]])(
    'refuses options %p that are not an object, naming them',
    async (options) => {
      const app = await startApp({ prefix, options: { worker: false } });
      const handle = await app.client.enqueue('echo', 'x');
      const error = await handle.result(options as never).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect((error as InvalidOptionError).option).toBe('options');
    },
  );
});
