/**
 * @internal A key state's generation (field `gen`) as stored, or undefined when it is not one (an
 * integer from 0 to 2^53-1): anyone can write the hash, and `x`, `inf` or `-1` read as NaN,
 * Infinity or a generation that never existed. A state without the field reads 0.
 */
export function storedGeneration(text: string | undefined): number | undefined {
  return wholeNumber(text ?? '0', 0);
}

/** @internal A key state's attempt (field `attempt`), an integer from 1, else undefined. */
export function storedAttempt(text: string | undefined): number | undefined {
  return text === undefined ? undefined : wholeNumber(text, 1);
}

/** Decimal digits only: Number() also reads '', ' 1', '0x1f' and '1e3'. */
function wholeNumber(text: string, min: number): number | undefined {
  const n = /^\d{1,16}$/.test(text) ? Number(text) : NaN;
  return Number.isSafeInteger(n) && n >= min ? n : undefined;
}
