import type { BackoffOptions } from '../interfaces';

/** @internal Delay before attempt `attempt + 1`; jitter draws from [delay/2, delay]. */
export function backoffDelay(options: Required<BackoffOptions>, attempt: number, random = Math.random): number {
  const base = options.type === 'fixed' ? options.delayMs : options.delayMs * 2 ** (attempt - 1);
  const capped = Math.min(base, options.maxDelayMs);
  return Math.round(options.jitter ? capped / 2 + (random() * capped) / 2 : capped);
}
