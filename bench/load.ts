/** Load shapes shared by every side: sequential chunks, N in flight, a steady rate, and waiting. */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchPayload } from './scenario';

export const now = (): number => performance.now();
export { sleep };

/** Calls fn(start, count) for consecutive chunks, one chunk in flight at a time. */
export async function inChunks(
  total: number,
  chunk: number,
  fn: (start: number, count: number) => Promise<unknown>,
): Promise<void> {
  for (let start = 0; start < total; start += chunk) {
    await fn(start, Math.min(chunk, total - start));
  }
}

/** Calls fn(i) for i in [0, total) with exactly `parallel` calls in flight until the end. */
export async function inParallel(total: number, parallel: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < total) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(parallel, total) }, lane));
}

/**
 * Issues fn(i) at a steady `rate` per second for `seconds`, without waiting for replies (an open
 * loop, so a slow server shows up as latency rather than a lower rate). Resolves when every call has
 * settled; rejects with the first error.
 */
export async function atSteadyRate(rate: number, seconds: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  const total = Math.round(rate * seconds);
  const inflight: Promise<unknown>[] = [];
  const start = now();
  let issued = 0;
  while (issued < total) {
    const due = Math.min(total, Math.floor(((now() - start) * rate) / 1000) + 1);
    while (issued < due) inflight.push(fn(issued++));
    await sleep(1);
  }
  await Promise.all(inflight);
}

/** Polls cond every intervalMs until it is true; throws a descriptive error after timeoutMs. */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string | (() => string),
  intervalMs = 2,
): Promise<void> {
  const deadline = now() + timeoutMs;
  while (!(await cond())) {
    if (now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    }
    await sleep(intervalMs);
  }
}

/** Scales a timeout with the work size: a generous floor of 30 s plus 2 ms per task. */
export function budgetMs(tasks: number): number {
  return 30_000 + tasks * 2;
}

/**
 * The drain's handler body: a no-op, or with BENCH_DRAIN_HANDLER_MS an awaited timer standing for
 * a task that waits on I/O (a query, an HTTP call) and does little CPU work of its own.
 */
export function drainWork(handlerMs: number): () => void | Promise<unknown> {
  return handlerMs > 0 ? () => sleep(handlerMs) : () => {};
}

/** The payload every side sends; `t` feeds the latency scenario. */
export function payload(i: number): BenchPayload {
  return { i, t: now() };
}
