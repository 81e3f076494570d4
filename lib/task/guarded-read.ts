/**
 * @internal What `read` returns, or undefined when it throws: a field of a thrown value (a getter,
 * a Proxy, a `toString`) is any code, and reading it must not turn a report of one failure into
 * another.
 */
export function guardedRead<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}
