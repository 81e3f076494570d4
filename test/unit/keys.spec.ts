import calculateSlot from 'cluster-key-slot';
import { QueueKeys } from '../../lib/redis/keys';

/** The part of a key Redis Cluster hashes: the first non-empty `{...}`, else the whole key. */
function hashTag(key: string): string {
  const open = key.indexOf('{');
  const close = open === -1 ? -1 : key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

describe('QueueKeys', () => {
  const keys = new QueueKeys('sq', 'emails');
  // A task key or consumer name with braces of its own must not move its key to another slot.
  const all = [
    keys.stream,
    keys.delayed,
    keys.deadLetter,
    keys.sweepLock,
    keys.doneChannel,
    keys.controlChannel,
    keys.keyState('user:{42}'),
    keys.result('task-id'),
    keys.alive('host-1-{x}'),
  ];

  it('builds every key under the queue hash tag with the documented names', () => {
    expect(keys.tag).toBe('{sq:emails}');
    expect(keys.stream).toBe('{sq:emails}:stream');
    expect(keys.delayed).toBe('{sq:emails}:delayed');
    expect(keys.deadLetter).toBe('{sq:emails}:dlq');
    expect(keys.keyState('k')).toBe(`${keys.keyStatePrefix}k`);
  });

  it('puts every key of a queue under the `{prefix:queue}` hash tag, so one cluster slot holds the queue', () => {
    for (const key of all) {
      expect(key.startsWith('{sq:emails}:')).toBe(true);
      expect(hashTag(key)).toBe('sq:emails');
    }
    expect(new Set(all.map((k) => calculateSlot(k)))).toEqual(new Set([calculateSlot('{sq:emails}')]));
  });

  it('gives every key its own name, and other queues or prefixes other keys', () => {
    expect(new Set(all).size).toBe(all.length);
    expect(keys.result('a')).not.toBe(keys.result('b'));
    expect(new QueueKeys('sq', 'sms').stream).not.toBe(keys.stream);
    expect(new QueueKeys('other', 'emails').stream).not.toBe(keys.stream);
  });
});
