import { PayloadError } from '../../lib';
import { producerAppForSuite } from '../fixtures/test-app';
import { createRedis, randomPrefix } from '../utils/redis';

/**
 * A payload JSON.stringify throws on (a BigInt, a cycle, a toJSON or getter that throws) was
 * refused with a PayloadError quoting the error's message, without the error itself: its type and
 * stack were lost, and a caller could not tell a TypeError of the encoder from its own toJSON's
 * error (a review finding; every case here failed, its `cause` undefined). The error is now the
 * PayloadError's cause, through enqueueMany()'s item refusal too; the messages are unchanged.
 */
const thrown = new Error('no JSON for you');
const circular = (): object => {
  const value: Record<string, unknown> = {};
  value.self = value;
  return value;
};

describe('attack: a PayloadError for a payload that fails to encode', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const t = producerAppForSuite(prefix, redis);

  async function refusal(call: Promise<unknown>): Promise<PayloadError> {
    const error = await call.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PayloadError);
    return error as PayloadError;
  }

  it("carries the encoder's error as its cause (a BigInt, a cycle), its message unchanged", async () => {
    const bigint = await refusal(t.client.enqueue('echo', { id: 10n }));
    expect(bigint.cause).toBeInstanceOf(TypeError);
    expect(bigint.message).toBe(
      `Payload of task "echo" rejected: not serialisable as JSON (${(bigint.cause as Error).message}).`,
    );
    expect((bigint.cause as Error).message).toMatch(/BigInt/);
    const cycle = await refusal(t.client.enqueue('echo', circular()));
    expect(cycle.cause).toBeInstanceOf(TypeError);
    expect((cycle.cause as Error).message).toMatch(/circular/i);
  });

  it('carries what a toJSON or a getter threw, whatever it is, as its cause', async () => {
    const toJSON = await refusal(
      t.client.enqueue('echo', {
        toJSON() {
          throw thrown;
        },
      }),
    );
    expect(toJSON.cause).toBe(thrown);
    expect(toJSON.message).toBe('Payload of task "echo" rejected: not serialisable as JSON (no JSON for you).');
    const getter = await refusal(
      t.client.enqueue(
        'echo',
        Object.defineProperty({}, 'x', {
          enumerable: true,
          get() {
            throw 'a string';
          },
        }),
      ),
    );
    expect(getter).toHaveProperty('cause', 'a string');
  });

  it('keeps the cause when enqueueMany() names the item, and in schedule()', async () => {
    const many = await refusal(
      t.client.enqueueMany([
        { name: 'echo', payload: 1 },
        { name: 'echo', payload: { id: 1n } },
      ]),
    );
    expect(many.message).toMatch(/^Payload of task "echo" \(items\[1\]\) rejected: not serialisable as JSON/);
    expect(many.cause).toBeInstanceOf(TypeError);
    // Thrown undefined is still what was thrown: the item's refusal has it as its cause.
    const throwsUndefined = Object.defineProperty({}, 'x', {
      enumerable: true,
      get() {
        throw undefined;
      },
    });
    const item = await refusal(t.client.enqueueMany([{ name: 'echo', payload: throwsUndefined }]));
    expect(Object.prototype.hasOwnProperty.call(item, 'cause')).toBe(true);
    const scheduled = await refusal(t.client.schedule('echo', circular(), { key: 'k', every: 60_000 }));
    expect(scheduled.cause).toBeInstanceOf(TypeError);
  });

  it('has no cause where no error was thrown (a function payload, too many bytes)', async () => {
    expect((await refusal(t.client.enqueue('echo', () => 1))).cause).toBeUndefined();
    expect((await refusal(t.client.enqueue('echo', 'x'.repeat(2_000_000)))).cause).toBeUndefined();
  });
});
