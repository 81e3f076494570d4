import { PayloadError } from '../../lib';
import { decodePayload, encodePayload } from '../../lib/task/payload-codec';

function payloadError(payload: unknown, maxBytes = 1_000): PayloadError {
  try {
    encodePayload('send', payload, maxBytes);
  } catch (error) {
    expect(error).toBeInstanceOf(PayloadError);
    return error as PayloadError;
  }
  throw new Error('encodePayload accepted the payload');
}

describe('payload codec', () => {
  it('round-trips JSON values', () => {
    const payload = { s: 'é', n: 1.5, list: [true, null], nested: { deep: 'x' } };
    expect(decodePayload(encodePayload('send', payload, 1_000))).toEqual(payload);
  });

  it('encodes undefined as null, so a payload-less task still carries a payload', () => {
    expect(encodePayload('send', undefined, 10)).toBe('null');
  });

  it('rejects a BigInt, naming the task and the cause', () => {
    const error = payloadError({ id: 10n });
    expect(error.code).toBe('INVALID_PAYLOAD');
    expect(error.taskName).toBe('send');
    expect(error.message).toMatch(/"send".*not serialisable as JSON.*BigInt/);
  });

  it('rejects a circular structure', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(payloadError(circular).message).toMatch(/not serialisable as JSON.*circular/i);
  });

  it('rejects values JSON drops silently (a function, a symbol)', () => {
    expect(payloadError(() => 1).message).toMatch(/a function is not serialisable/);
    expect(payloadError(Symbol('s')).message).toMatch(/a symbol is not serialisable/);
  });

  it('accepts exactly maxPayloadBytes and rejects one byte more, counting UTF-8 bytes', () => {
    expect(encodePayload('send', 'é', 4)).toBe('"é"'); // 2 quotes + 2 bytes
    expect(payloadError('é', 3).message).toMatch(/4 bytes exceed maxPayloadBytes \(3\)/);
  });

  it('decodePayload throws on text that is not JSON (the consumer dead-letters it)', () => {
    expect(() => decodePayload('{nope')).toThrow(SyntaxError);
  });
});
