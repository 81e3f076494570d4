/**
 * Delay between attempts. `exponential` doubles `delayMs` per attempt up to `maxDelayMs`;
 * `jitter` (default true) spreads retries of many tasks that failed together.
 * @publicApi
 */
export interface BackoffOptions {
  type?: 'exponential' | 'fixed';
  delayMs?: number;
  maxDelayMs?: number;
  jitter?: boolean;
}
