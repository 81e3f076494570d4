import { MAX_PARTITIONS } from '../stream-queue.constants';

/**
 * @internal A layout record as read: the count a switch starts from and the one it goes to
 * (both the stored count when none is under way).
 */
export interface LayoutRecord {
  readonly from: number;
  readonly to: number;
  readonly switching: boolean;
}

const COUNT = '([1-9][0-9]{0,3})';
const WRITTEN = new RegExp(`^${COUNT}(?:>${COUNT})?$`);

/**
 * @internal A partition's layout record as layout.lua writes it: a count ('<n>', from = to = n),
 * or '<from>><to>' while a change is under way, each from 1 to MAX_PARTITIONS. Anyone can SET
 * the record: anything else (`x`, `0`, `2000>1`) no version writes, and is undefined, so no
 * reader takes a count from it (Number('x') is NaN, and `<n>>1` would have bootstrap freeze n
 * partitions).
 */
export function layoutOf(stored: string): LayoutRecord | undefined {
  const match = WRITTEN.exec(stored);
  if (!match) return undefined;
  const from = Number(match[1]);
  const to = match[2] === undefined ? from : Number(match[2]);
  return from <= MAX_PARTITIONS && to <= MAX_PARTITIONS ? { from, to, switching: match[2] !== undefined } : undefined;
}

/** @internal A script's layout refusal (includes/layout-guard.lua) as it reads: the stored record and the caller's count. */
export interface LayoutRefusal {
  /** Whatever the record holds (anyone can SET it, spaces included): all up to the count. */
  readonly stored: string;
  readonly count: number;
}

/** @internal The refusal 'LAYOUT <stored> <count>' that `error` carries, or undefined for any other error. */
export function layoutRefusal(error: unknown): LayoutRefusal | undefined {
  const match = error instanceof Error ? /^LAYOUT (.*) (\d+)$/s.exec(error.message) : null;
  return match ? { stored: match[1], count: Number(match[2]) } : undefined;
}

/**
 * @internal Whether `error` is a script's layout refusal of a frozen record, '<from>><to>': a
 * change under way, that commits or thaws.
 */
export function refusedByFrozenLayout(error: unknown): boolean {
  const refusal = layoutRefusal(error);
  return refusal !== undefined && layoutOf(refusal.stored)?.switching === true;
}
