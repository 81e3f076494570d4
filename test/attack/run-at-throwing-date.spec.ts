import type { EnqueueOptions } from '../../lib';
import { producerAppForSuite } from '../fixtures/test-app';
import { createRedis, randomPrefix } from '../utils/redis';

/**
 * `runAt` is read with the Date's own getTime(), which is the caller's code when the Date is a
 * subclass's, and throws for a Date-like object (Object.create(Date.prototype)) or a Proxy of a
 * Date. It escaped as its own bare error (a TypeError, or whatever the override threw), naming
 * no option (a review finding; the first three cases failed so). It is an InvalidOptionError
 * naming `runAt`, with the thrown error as its cause, and nothing is written.
 */
const cause = new Error('no clock here');
class ThrowingDate extends Date {
  override getTime(): number {
    throw cause;
  }
}
/** A number by its type only: an object whose coercion to one throws. */
const throwingPrimitive = (): number =>
  ({
    valueOf() {
      throw cause;
    },
    [Symbol.toPrimitive]() {
      throw cause;
    },
  }) as unknown as number;
const refusalOf = (option: string, thrown: unknown = cause) =>
  expect.objectContaining({ name: 'InvalidOptionError', option, cause: thrown });

describe('attack: a runAt whose getTime() throws', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const t = producerAppForSuite(prefix, redis);

  /** Every key of the prefix with its type and size: what a call wrote, when compared. */
  async function written(): Promise<string[]> {
    const keys = (await redis.keys(`*${prefix}*`)).sort();
    return Promise.all(keys.map(async (key) => `${key} ${await redis.type(key)} ${await redis.memory('USAGE', key)}`));
  }

  it('enqueue(), replace() and enqueueMany() refuse it by name, with its error as cause, writing nothing', async () => {
    const before = await written();
    const error = await t.client.enqueue('echo', 1, { runAt: new ThrowingDate() }).catch((e: unknown) => e);
    expect(error).toEqual(refusalOf('runAt'));
    expect((error as Error).message).toMatch(/received a Date whose getTime\(\) threw \(its error is the cause\)/);
    await expect(t.client.replace('echo', 1, { key: 'k', runAt: new ThrowingDate() })).rejects.toEqual(
      refusalOf('runAt'),
    );
    await expect(
      t.client.enqueueMany([
        { name: 'echo', payload: 1 },
        { name: 'echo', payload: 2, options: { runAt: new ThrowingDate() } },
      ]),
    ).rejects.toEqual(refusalOf('items[1].options.runAt'));
    expect(await written()).toEqual(before);
  });

  it('a Date-like object and a Proxy of a Date (getTime() throws a TypeError) are refused the same way', async () => {
    const before = await written();
    for (const runAt of [Object.create(Date.prototype) as Date, new Proxy(new Date(), {})]) {
      const error = await t.client.enqueue('echo', 1, { runAt }).catch((e: unknown) => e);
      expect(error).toEqual(refusalOf('runAt', expect.any(TypeError)));
    }
    expect(await written()).toEqual(before);
  });

  it('a Proxy whose getPrototypeOf trap throws is refused by name', async () => {
    const runAt = new Proxy(new Date(), {
      getPrototypeOf() {
        throw cause;
      },
    });
    await expect(t.client.enqueue('echo', 1, { runAt })).rejects.toEqual(refusalOf('runAt'));
  });

  it('a Date whose valueOf and Symbol.toPrimitive throw is read by getTime() alone, and accepted', async () => {
    class UncoercibleDate extends Date {
      override valueOf(): number {
        throw cause;
      }
      override [Symbol.toPrimitive](): never {
        throw cause;
      }
    }
    const at = Date.now() + 60_000;
    const handle = await t.client.enqueue('echo', 1, { key: 'uncoercible', runAt: new UncoercibleDate(at) });
    expect((await handle.status())?.dueAt?.getTime()).toBe(at);
  });

  it('number-valued options given an object that throws on coercion are refused by name, never coerced', async () => {
    const before = await written();
    const options = (name: string) => ({ [name]: throwingPrimitive() }) as EnqueueOptions;
    for (const name of ['delayMs', 'runAt', 'priority']) {
      await expect(t.client.enqueue('echo', 1, options(name))).rejects.toEqual(
        expect.objectContaining({ name: 'InvalidOptionError', option: name }),
      );
    }
    await expect(t.client.schedule('echo', 1, { key: 's', every: throwingPrimitive() })).rejects.toEqual(
      expect.objectContaining({ name: 'InvalidOptionError', option: 'every' }),
    );
    await expect(t.client.schedules({ limit: throwingPrimitive() })).rejects.toEqual(
      expect.objectContaining({ name: 'InvalidOptionError', option: 'limit' }),
    );
    await expect(t.client.list('queued', { limit: throwingPrimitive() })).rejects.toEqual(
      expect.objectContaining({ name: 'InvalidOptionError', option: 'limit' }),
    );
    expect(await written()).toEqual(before);
  });
});
