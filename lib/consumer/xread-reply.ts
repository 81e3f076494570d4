import type { RawEntry } from './intake';

/**
 * @internal XREADGROUP's reply, by stream. The reply shape depends on the protocol: RESP2 (ioredis 5)
 * answers an array of [stream, entries] pairs; RESP3 (ioredis 6 negotiates it with HELLO 3) answers
 * a map, which ioredis's generic call() hands over flattened: [stream1, entries1, stream2, ...].
 * Read as pairs, that flat array names no stream, so the entries read would wait, pending and
 * unprocessed, for the sweep. nil (the call's timeout, or an interrupt) reads nothing.
 */
export function entriesByStream(reply: unknown): Map<string, RawEntry[]> {
  if (reply == null) return new Map();
  const items = reply as unknown[];
  if (typeof items[0] !== 'string') return new Map(items as [string, RawEntry[]][]);
  const byStream = new Map<string, RawEntry[]>();
  for (let i = 0; i < items.length; i += 2) byStream.set(items[i] as string, items[i + 1] as RawEntry[]);
  return byStream;
}
