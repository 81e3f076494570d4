/**
 * @internal Settles as `promise` does, unless `ms` pass first: then as `onTimeout` says, resolving
 * with what it returns, or rejecting with what it throws (a typed error). The timer is cleared
 * either way, so a promise that wins leaves no timer behind; `unref` lets the process exit while
 * the timer still runs (a wait that must not hold a closing process open).
 *
 * The timeout is taken one turn of I/O after the timer fires. When the event loop was blocked
 * past `ms` (a CPU-bound moment, a GC pause), Node runs expired timers before it reads sockets:
 * a reply that arrived meanwhile, waiting unread, would lose to a timer that only fired late. An
 * immediate runs after the poll phase that reads it, so that reply wins.
 *
 * `promise` keeps running after a timeout, its settling ignored (a rejection then is handled here,
 * never unhandled): a caller that must stop it does so in `onTimeout`.
 */
export async function raceTimeout<T, Late = never>(
  promise: PromiseLike<T>,
  ms: number,
  onTimeout: () => Late,
  { unref = false }: { unref?: boolean } = {},
): Promise<T | Late> {
  let timer: NodeJS.Timeout | undefined;
  let turn: NodeJS.Immediate | undefined;
  const late = new Promise<Late>((resolve, reject) => {
    timer = setTimeout(() => {
      // Not unref'd: only a ref'd immediate keeps that poll phase from blocking (and it is one turn).
      turn = setImmediate(() => {
        try {
          resolve(onTimeout());
        } catch (error) {
          reject(error);
        }
      });
    }, ms);
    if (unref) timer.unref();
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
    clearImmediate(turn);
  }
}
