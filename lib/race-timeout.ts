/**
 * @internal Settles as `promise` does, unless `ms` pass first: then as `onTimeout` says, resolving
 * with what it returns (a promise it returns is followed), or rejecting with what it throws (a
 * typed error). The timer is cleared either way, so a promise that wins leaves no timer behind;
 * `unref` lets the process exit while the timer still runs (a wait that must not hold a closing
 * process open). The timeout is taken once the I/O that arrived meanwhile is read (see
 * timeoutAfterPendingIo).
 *
 * `promise` keeps running after a timeout, its settling ignored (a rejection then is handled here,
 * never unhandled): a caller that must stop it does so in `onTimeout`.
 */
export async function raceTimeout<T, Late = never>(
  promise: PromiseLike<T>,
  ms: number,
  onTimeout: () => Late | PromiseLike<Late>,
  { unref = false }: { unref?: boolean } = {},
): Promise<T | Late> {
  let cancel!: () => void;
  const late = new Promise<Late>((resolve, reject) => {
    cancel = timeoutAfterPendingIo(
      ms,
      () => {
        try {
          resolve(onTimeout());
        } catch (error) {
          reject(error);
        }
      },
      { unref },
    );
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    cancel();
  }
}

/**
 * @internal Calls `onTimeout` one turn of I/O after `ms` have passed; returns what cancels it
 * (the timer, or the turn once the timer fired). When the event loop was blocked past `ms` (a
 * CPU-bound moment, a GC pause), Node runs expired timers before it reads sockets: a reply that
 * arrived meanwhile, waiting unread, would lose to a timer that only fired late. An immediate runs
 * after the poll phase that reads it, so that reply is handled first. `unref`: see raceTimeout.
 * `onTimeout` is given when the timer fired (performance.now()): a reply that had arrived by then
 * was read before it is called, so one still unanswered had not come by then.
 */
export function timeoutAfterPendingIo(
  ms: number,
  onTimeout: (firedAt: number) => void,
  { unref = false }: { unref?: boolean } = {},
): () => void {
  let turn: NodeJS.Immediate | undefined;
  const timer = setTimeout(() => {
    // Not unref'd: only a ref'd immediate keeps that poll phase from blocking (and it is one turn).
    turn = setImmediate(onTimeout, performance.now());
  }, ms);
  if (unref) timer.unref();
  return () => {
    clearTimeout(timer);
    clearImmediate(turn);
  };
}
