import { isObservable, lastValueFrom, Observable } from 'rxjs';

/**
 * @internal `source`, unsubscribed once `signal` aborts, when it errors with the signal's reason.
 * A handler's Observable is its run's work: unsubscribing it is how rxjs cancels that work (its
 * teardown runs at once), so an abort of the run (timeout, cancel, a newer generation, the
 * shutdown deadline, a lost lease) is delivered to it as an unsubscribe, besides `ctx.signal`.
 */
export function untilAborted<T>(source: Observable<T>, signal: AbortSignal): Observable<T> {
  return new Observable<T>((subscriber) => {
    if (signal.aborted) {
      subscriber.error(signal.reason);
      return undefined;
    }
    const onAbort = () => subscriber.error(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    const inner = source.subscribe(subscriber);
    return () => {
      signal.removeEventListener('abort', onAbort);
      inner.unsubscribe();
    };
  });
}

/**
 * @internal What a bare handler returned, as the runner awaits it: an Observable becomes the
 * Promise of its last value (undefined when it completes without one) or of its error, so it is
 * in flight until it completes, as a Promise-returning handler is until it settles; it is
 * subscribed once, here, and unsubscribed when `run.signal` aborts. Anything else is returned as
 * it is. `run.signal` is read only for an Observable: a run's AbortController is made on first
 * use (and the run itself is passed, not a getter: no closure per run).
 */
export function settleObservable(returned: unknown, run: { readonly signal: AbortSignal }): unknown {
  if (!isObservable(returned)) return returned;
  return lastValueFrom(untilAborted(returned, run.signal), { defaultValue: undefined });
}
