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
