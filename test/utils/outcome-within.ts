/**
 * How a promise stands after `ms`: still pending, or how it settled. For specs that show a call
 * is bounded (it settles in time) or unbounded (still pending well past the bound).
 */
export async function outcomeWithin(promise: Promise<unknown>, ms: number): Promise<'pending' | 'resolved' | Error> {
  let timer!: NodeJS.Timeout;
  const pending = new Promise<'pending'>((resolve) => (timer = setTimeout(() => resolve('pending'), ms)));
  const settled = promise.then(
    () => 'resolved' as const,
    (error: Error) => error,
  );
  try {
    return await Promise.race([settled, pending]);
  } finally {
    clearTimeout(timer);
  }
}
