import {
  EMPTY,
  Observable,
  catchError,
  defer,
  exhaustMap,
  from,
  ignoreElements,
  merge,
  mergeMap,
  of,
  race,
  repeat,
  retry,
  take,
  takeUntil,
  tap,
  timer,
} from 'rxjs';
import type { Delivery } from './delivery';
import type { Outcome } from './outcome';
import { settleInBatches } from './settle-in-batches';

/** @internal The moving parts one queue's pipeline is built from. */
export interface PipelineParts {
  /** One blocking read, admitted: resolves with deliveries (possibly none). */
  read(): Promise<Delivery[]>;
  /** One sweep: resolves with reclaimed or recovered deliveries. */
  sweep(): Promise<Delivery[]>;
  /**
   * Runs given back unproven (UnprovenRetakes), taken again each time `due$` emits (a confirmed
   * beat) as a sweep's recovery takes them: resolves with the deliveries taken.
   */
  readonly retakes?: { readonly due$: Observable<unknown>; take(): Promise<Delivery[]> };
  /** Promotes due delayed tasks; resolves with the delay before the next promotion. */
  promote(): Promise<number>;
  run(delivery: Delivery): Promise<Outcome>;
  /** Called when a handler finished, before its outcome is settled. */
  onRunEnd(outcome: Outcome): void;
  /** Settles a batch; returns what could not be settled, to be retried. */
  settle(outcomes: Outcome[]): Promise<Outcome[]>;
  /** Called for infrastructure errors (connection lost), which are retried. */
  onError(source: string, error: unknown, attempt: number): void;
  readonly stop$: Observable<unknown>;
  /** Emits when a delayed task may have become due sooner than the promoter planned. */
  readonly promoteSoon$: Observable<unknown>;
  readonly isStopping: () => boolean;
  readonly concurrency: number;
  readonly sweepIntervalMs: number;
  readonly ackBatchMs: number;
}

const MAX_BATCH = 256;
const retryBackoff = (attempt: number) => Math.min(100 * 2 ** attempt, 5_000);

/**
 * @internal One queue's consumption as an Observable of settled outcomes. Reads, sweeps and retakes feed
 * a `mergeMap` capped at the concurrency; each run is isolated (it cannot error the stream);
 * outcomes are settled in batches. Stopping gates the sources (the read loop does not repeat,
 * the sweep timer ends), so the stream completes only after in-flight runs finish and settle.
 */
export function createQueuePipeline(parts: PipelineParts): Observable<Outcome> {
  const read$ = defer(() => parts.read()).pipe(
    retry({
      resetOnSuccess: true,
      delay: (error, n) => (parts.onError('read', error, n), parts.isStopping() ? EMPTY : timer(retryBackoff(n))),
    }),
    repeat({ delay: () => (parts.isStopping() ? EMPTY : of(0)) }),
  );
  // onError's attempt counts consecutive failures (its log throttle keys on it), not timer ticks.
  let sweepFailures = 0;
  const sweep$ = timer(0, parts.sweepIntervalMs).pipe(
    takeUntil(parts.stop$),
    exhaustMap(() =>
      defer(() => parts.sweep()).pipe(
        tap(() => (sweepFailures = 0)),
        catchError((error) => (parts.onError('sweep', error, ++sweepFailures), of([] as Delivery[]))),
      ),
    ),
  );
  // Gated on stop as the sweep is: nothing is taken once stopping, and one under way completes.
  const { retakes } = parts;
  const retake$ = retakes
    ? retakes.due$.pipe(
        takeUntil(parts.stop$),
        exhaustMap(() =>
          defer(() => retakes.take()).pipe(
            catchError((error) => (parts.onError('retake', error, 1), of([] as Delivery[]))),
          ),
        ),
      )
    : EMPTY;
  // Promotion emits nothing: it moves due tasks into the stream, where read$ finds them. A
  // failure waits a sweep interval (the last success may have asked for the next at once) and
  // counts as the sweep's do.
  let nextPromotionMs = 0;
  let promoteFailures = 0;
  const promote$ = defer(() => parts.promote()).pipe(
    tap((delayMs) => {
      nextPromotionMs = delayMs;
      promoteFailures = 0;
    }),
    catchError((error) => {
      nextPromotionMs = parts.sweepIntervalMs;
      parts.onError('promote', error, ++promoteFailures);
      return EMPTY;
    }),
    repeat({
      delay: () =>
        parts.isStopping()
          ? EMPTY
          : race(timer(nextPromotionMs), parts.promoteSoon$).pipe(take(1), takeUntil(parts.stop$)),
    }),
    ignoreElements(),
  );
  return merge(read$, sweep$, retake$, promote$).pipe(
    mergeMap((deliveries) => from(deliveries)),
    mergeMap((delivery) => runOf(parts, delivery), parts.concurrency),
    settleInBatches((batch) => parts.settle(batch), parts.ackBatchMs, MAX_BATCH, 500),
  );
}

/**
 * One run as an Observable of its outcome, after onRunEnd. Built by hand rather than from the
 * promise (`defer` + `tap`): rxjs's `from(promise)` chains two promises and four subscribers per
 * run, and this is the hot path (a promise costs more where Node's promise hooks are on). Errors
 * go where rxjs sent them: a throw of run (sync or async) or of onRunEnd errors the pipeline.
 */
function runOf(parts: Pick<PipelineParts, 'run' | 'onRunEnd'>, delivery: Delivery): Observable<Outcome> {
  return new Observable<Outcome>((subscriber) => {
    parts.run(delivery).then(
      (outcome) => {
        if (subscriber.closed) return; // the pipeline was torn down: as rxjs's from(promise) does
        try {
          parts.onRunEnd(outcome);
        } catch (error) {
          subscriber.error(error);
          return;
        }
        subscriber.next(outcome);
        subscriber.complete();
      },
      (error: unknown) => subscriber.error(error),
    );
  });
}
