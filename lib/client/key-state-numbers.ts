/*
 * Numbers anyone with Redis access can write, read back: a key state's fields (status(key),
 * schedules()) and a listed task's (list(), findTask()).
 */

/**
 * @internal A key state's generation (field `gen`; a listed task's `g`) as stored, or undefined when it is not one (an
 * integer from 0 to 2^53-1): anyone can write the hash, and `x`, `inf` or `-1` read as NaN,
 * Infinity or a generation that never existed. A state without the field reads 0.
 */
export function storedGeneration(text: string | undefined): number | undefined {
  return wholeNumber(text ?? '0', 0);
}

/** @internal A key state's attempt (field `attempt`; a listed task's `a`), an integer from 1, else undefined. */
export function storedAttempt(text: string | undefined): number | undefined {
  return text === undefined ? undefined : wholeNumber(text, 1);
}

/** @internal A flow task's priority (field `pr`), an integer from 1 to 10 (what enqueue() takes), else undefined. */
export function storedPriority(text: string | undefined): number | undefined {
  return text === undefined ? undefined : wholeNumber(text, 1, 10);
}

/** Decimal digits only: Number() also reads '', ' 1', '0x1f' and '1e3'. */
function wholeNumber(text: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const n = /^\d{1,16}$/.test(text) ? Number(text) : NaN;
  return Number.isSafeInteger(n) && n >= min && n <= max ? n : undefined;
}
