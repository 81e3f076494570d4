import { ReplyError, type Redis } from 'ioredis';

/**
 * @internal Redis refused a command for the type of the key it read: a key state that is not a
 * hash (anyone with Redis access can `SET <key state> x`). Readers take it as no state, as the
 * scripts do (notAHash in includes/key-state.lua), so one key's value never fails a whole read.
 */
export function isWrongType(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('WRONGTYPE');
}

/** @internal A key state's fields read with HMGET, all null when the state is not a hash (see isWrongType). */
export async function hashFieldsOrNone(read: Promise<(string | null)[]>, count: number): Promise<(string | null)[]> {
  try {
    return await read;
  } catch (error) {
    if (isWrongType(error)) return Array.from({ length: count }, () => null);
    throw error;
  }
}

/**
 * @internal `read`, a read of flow key `key` (which holds a `want`, TYPE's name, or nothing):
 * when Redis refuses it for the key's type, the error names the key as the flow scripts' do
 * (includes/flow-key-type.lua), "WRONGTYPE the flow key <key> holds a <type>, not a <want>":
 * Redis's own names none. TYPE is asked only once the read failed.
 */
export async function namingFlowKey<T>(redis: Redis, key: string, want: string, read: Promise<T>): Promise<T> {
  try {
    return await read;
  } catch (error) {
    if (!isWrongType(error)) throw error;
    const held = await redis.type(key).catch(() => undefined);
    if (held === undefined || held === 'none' || held === want) throw error;
    throw new ReplyError(`WRONGTYPE the flow key ${key} holds a ${held}, not a ${want}`);
  }
}
