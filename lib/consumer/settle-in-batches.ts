import { Logger } from '@nestjs/common';
import { Observable, type MonoTypeOperatorFunction } from 'rxjs';

const logger = new Logger('StreamQueue');

/**
 * @internal Settles items in batches. The first item waits at most `windowMs` for company (0:
 * until the end of the current turn of the event loop, so the completions of one tick go
 * together); while a batch is in flight, new items gather and go together right after it, so
 * batches grow with load and the round trips per item fall. Items the settle function hands
 * back (connection trouble) are retried after `retryDelayMs`; a settle function that throws
 * has the whole batch retried, and `onError` hears of it (by default a logged error: a failure
 * that repeats must never be silent). Emits each item once settled; completes after the source
 * completes and everything is settled.
 */
export function settleInBatches<T>(
  settle: (batch: T[]) => Promise<T[]>,
  windowMs: number,
  maxBatch: number,
  retryDelayMs: number,
  onError: (error: unknown, batch: T[]) => void = logSettleError,
): MonoTypeOperatorFunction<T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      let buffer: T[] = [];
      let busy = false;
      let done = false;
      let closed = false;
      let cancelWait: (() => void) | undefined;

      const wait = () => {
        if (cancelWait) return;
        if (windowMs === 0) {
          const handle = setImmediate(flush);
          cancelWait = () => clearImmediate(handle);
        } else {
          const handle = setTimeout(flush, windowMs);
          cancelWait = () => clearTimeout(handle);
        }
      };
      const finishIfIdle = () => {
        if (done && !busy && buffer.length === 0) subscriber.complete();
      };
      const flush = async (): Promise<void> => {
        cancelWait?.();
        cancelWait = undefined;
        if (busy || buffer.length === 0) return finishIfIdle();
        busy = true;
        const batch = buffer.slice(0, maxBatch);
        buffer = buffer.slice(batch.length);
        let left: T[];
        try {
          left = await settle(batch);
        } catch (error) {
          left = batch;
          onError(error, batch);
        }
        const unsettled = new Set(left);
        for (const item of batch) if (!unsettled.has(item)) subscriber.next(item);
        if (left.length > 0) {
          buffer = [...left, ...buffer];
          await new Promise((r) => setTimeout(r, retryDelayMs));
        }
        busy = false;
        if (closed) return;
        if (buffer.length > 0) void flush();
        else finishIfIdle();
      };
      const subscription = source.subscribe({
        next: (item) => {
          buffer.push(item);
          if (busy) return;
          if (buffer.length >= maxBatch) void flush();
          else wait();
        },
        error: (error) => subscriber.error(error),
        complete: () => {
          done = true;
          if (!busy) void flush();
        },
      });
      return () => {
        closed = true;
        cancelWait?.();
        subscription.unsubscribe();
      };
    });
}

function logSettleError(error: unknown, batch: unknown[]): void {
  const message = error instanceof Error ? error.message : String(error);
  logger.error(`Settling a batch of ${batch.length} run(s) failed (${message}); retrying it.`);
}
