import { PayloadError, type EnqueueOptions } from '../../lib';
import { resolveConfig } from '../../lib/stream-queue.config';
import { producerAppForSuite } from '../fixtures/test-app';
import { createRedis, randomPrefix } from '../utils/redis';

/**
 * QueueClient's options read as @Task and module options are (snapshotOptions): once, at the
 * call. Before, a getter that threw escaped as its own bare error, naming no option; and a getter
 * read twice could answer one value to the check and another to the code that used it, so what
 * was written was not what was validated (a review finding; each case here failed).
 */
const cause = new Error('DELAY is not set');
const throwing = <T extends object>(target: T, option: string): T =>
  Object.defineProperty(target, option, {
    enumerable: true,
    get() {
      throw cause;
    },
  });
/** `target` whose `option` answers `first` to its first `checks` reads (those the checks made) and `later` after. */
const flipping = <T extends object>(target: T, option: string, first: unknown, later: unknown, checks = 1): T => {
  let reads = 0;
  return Object.defineProperty(target, option, { enumerable: true, get: () => (++reads <= checks ? first : later) });
};
const refusalOf = (option: string) => expect.objectContaining({ name: 'InvalidOptionError', option, cause });

describe('attack: QueueClient options read through getters', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const t = producerAppForSuite(prefix, redis);

  /** Every key of the prefix with its type and size: what a call wrote, when compared. */
  async function written(): Promise<string[]> {
    const keys = (await redis.keys(`*${prefix}*`)).sort();
    return Promise.all(keys.map(async (key) => `${key} ${await redis.type(key)} ${await redis.memory('USAGE', key)}`));
  }

  it('enqueue(), replace() and enqueueMany() name an option whose getter throws, and write nothing', async () => {
    const before = await written();
    const opts = () => throwing({} as EnqueueOptions, 'delayMs');
    await expect(t.client.enqueue('echo', 1, opts())).rejects.toEqual(refusalOf('delayMs'));
    await expect(t.client.enqueue('echo', 1, throwing({} as EnqueueOptions, 'durability'))).rejects.toEqual(
      refusalOf('durability'),
    );
    await expect(t.client.replace('echo', 1, throwing({} as { key: string }, 'key'))).rejects.toEqual(refusalOf('key'));
    const items = [
      { name: 'echo', payload: 1 },
      { name: 'echo', payload: 2, options: { group: 'g' } },
      { name: 'echo', payload: 3, options: opts() },
    ];
    await expect(t.client.enqueueMany(items)).rejects.toEqual(refusalOf('items[2].options.delayMs'));
    await expect(t.client.enqueueMany([items[0], throwing({ name: 'echo' }, 'payload')] as never)).rejects.toEqual(
      refusalOf('items[1].payload'),
    );
    await expect(t.client.enqueueMany([throwing({ payload: 1 }, 'name')] as never)).rejects.toEqual(
      refusalOf('items[0].name'),
    );
    await expect(t.client.enqueueMany([throwing({ name: 'echo', payload: 1 }, 'options')] as never)).rejects.toEqual(
      refusalOf('items[0].options'),
    );
    expect(await written()).toEqual(before);
  });

  it('options that cannot be looked into (a revoked Proxy, a Proxy whose trap throws) are refused by name', async () => {
    const revoked = () => {
      const { proxy, revoke } = Proxy.revocable({}, {});
      revoke();
      return proxy;
    };
    const throwCause = () => {
      throw cause;
    };
    const trapThrows = new Proxy({}, { ownKeys: throwCause });
    const refused = expect.objectContaining({ name: 'InvalidOptionError', option: 'options' });
    const before = await written();
    await expect(t.client.enqueue('echo', 1, revoked())).rejects.toEqual(refused);
    await expect(t.client.enqueue('echo', 1, trapThrows)).rejects.toEqual(refusalOf('options'));
    await expect(t.client.enqueueMany([{ name: 'echo', payload: 1, options: revoked() }])).rejects.toEqual(
      expect.objectContaining({ name: 'InvalidOptionError', option: 'items[0].options' }),
    );
    const items = new Proxy([], { get: throwCause });
    await expect(t.client.enqueueMany(items)).rejects.toEqual(refusalOf('items.length'));
    await expect(t.client.cancel('k', revoked())).rejects.toEqual(refused);
    // result() is no async function: a look that threw escaped synchronously, untyped.
    const handle = t.client.handle('x');
    await expect(Promise.resolve().then(() => handle.result(revoked()))).rejects.toEqual(refused);
    expect(await written()).toEqual(before);
    expect(() => resolveConfig({ connection: revoked() } as never)).toThrow(
      expect.objectContaining({ name: 'InvalidOptionError', option: 'connection' }),
    );
  });

  it('a payload whose getter throws something no Error is refused as a PayloadError', async () => {
    const payload = Object.defineProperty({}, 'x', {
      enumerable: true,
      get() {
        throw null;
      },
    });
    await expect(t.client.enqueue('echo', payload)).rejects.toBeInstanceOf(PayloadError);
  });

  it('a durability given as a class instance names its option whose getter throws', async () => {
    class Durability {
      get replicas(): number {
        throw cause;
      }
      readonly timeoutMs = 1_000;
    }
    // Not a plain object, so not copied (as an ioredis client is not): its getters were read bare.
    await expect(t.client.enqueue('echo', 1, { durability: new Durability() })).rejects.toEqual(
      refusalOf('durability.replicas'),
    );
  });

  it('the other calls name an option whose getter throws', async () => {
    const queue = () => throwing({} as { queue: string }, 'queue');
    await expect(t.client.cancel('k', queue())).rejects.toEqual(refusalOf('queue'));
    await expect(t.client.status('k', queue())).rejects.toEqual(refusalOf('queue'));
    await expect(t.client.unschedule('k', queue())).rejects.toEqual(refusalOf('queue'));
    await expect(t.client.schedules(queue())).rejects.toEqual(refusalOf('queue'));
    await expect(
      t.client.schedule('echo', 1, throwing({ key: 'k' } as { key: string; every: number }, 'every')),
    ).rejects.toEqual(refusalOf('every'));
    await expect(t.client.list('queued', throwing({}, 'limit'))).rejects.toEqual(refusalOf('limit'));
    await expect(t.client.findTask('x', queue())).rejects.toEqual(refusalOf('queue'));
    await expect(t.client.remove('x', queue())).rejects.toEqual(refusalOf('queue'));
    await expect(t.client.redrive('x', queue())).rejects.toEqual(refusalOf('queue'));
    await expect(t.client.redriveAll(queue())).rejects.toEqual(refusalOf('queue'));
    await expect(t.client.purgeDeadLetters(queue())).rejects.toEqual(refusalOf('queue'));
    expect(() => t.client.handle('x', throwing({}, 'key'))).toThrow(
      expect.objectContaining({ name: 'InvalidOptionError', option: 'key', cause }),
    );
    const handle = await t.client.enqueue('echo', 1);
    await expect(handle.result(throwing({}, 'timeoutMs'))).rejects.toEqual(refusalOf('timeoutMs'));
  });

  it('replace() with a key getter answering a key, then none, does not enqueue a task without a key', async () => {
    const before = await redis.xlen(t.keys.stream);
    const handle = await t.client.replace('echo', 1, flipping({} as { key: string }, 'key', 'replaced', undefined));
    expect(handle.key).toBe('replaced');
    expect(await t.client.status('replaced')).toMatchObject({ state: 'queued', id: handle.id });
    expect(await redis.xlen(t.keys.stream)).toBe(before + 1);
  });

  it("enqueueMany() reads an item's options once: a durability on a later read is not sent unchecked", async () => {
    let reads = 0;
    const item = Object.defineProperty({ name: 'echo', payload: 1 }, 'options', {
      enumerable: true,
      get: () => (++reads === 1 ? {} : { durability: { replicas: 1 } }),
    });
    // Before, the durability check read `{}` and the enqueue a second `options`, whose durability
    // (a WAIT enqueueMany() never sends, so refused when seen) went out unchecked and unhonoured.
    await expect(t.client.enqueueMany([item] as never)).resolves.toHaveLength(1);
    expect(reads).toBe(1);
  });

  it('unschedule() with a queue getter answering a queue, then none, looks on that queue only', async () => {
    await t.client.schedule('echo', 1, { key: 'stays', every: 60_000 });
    const options = flipping({} as { queue?: string }, 'queue', 'elsewhere', undefined, 2);
    expect(await t.client.unschedule('stays', options)).toBe(false);
    expect(await t.client.status('stays')).toMatchObject({ state: 'delayed' });
  });

  it('handle() with a key getter answering a key, then an object, keeps the key it checked', () => {
    const handle = t.client.handle('x', flipping({} as { key: string }, 'key', 'checked', { not: 'a key' }, 2));
    expect(handle.key).toBe('checked');
    const named = t.client.handle('x', flipping({} as { name: string }, 'name', 'echo', 42, 2));
    expect(named.name).toBe('echo');
  });
});
