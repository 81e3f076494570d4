import { entriesByStream } from '../../lib/consumer/xread-reply';

// Reply shapes as ioredis's call('XREADGROUP', ...) hands them over, captured with ioredis 5.11.1
// (RESP2) and ioredis 6.0.0 (RESP3) against Redis 7.
describe('entriesByStream', () => {
  const a = [['1-0', ['id', 't1']]];
  const b = [
    ['2-0', ['id', 't2']],
    ['3-0', ['id', 't3']],
  ];

  it('reads RESP2 [stream, entries] pairs', () => {
    const byStream = entriesByStream([
      ['{q:a}:stream', a],
      ['{q:b}:stream', b],
    ]);
    expect([...byStream]).toEqual([
      ['{q:a}:stream', a],
      ['{q:b}:stream', b],
    ]);
  });

  it('reads a RESP3 map, flattened by ioredis 6 into [stream, entries, stream, entries]', () => {
    expect([...entriesByStream(['{q:a}:stream', a])]).toEqual([['{q:a}:stream', a]]);
    expect([...entriesByStream(['{q:a}:stream', a, '{q:b}:stream', b])]).toEqual([
      ['{q:a}:stream', a],
      ['{q:b}:stream', b],
    ]);
  });

  it('reads nothing from nil', () => {
    expect(entriesByStream(null).size).toBe(0);
    expect(entriesByStream(undefined).size).toBe(0);
  });
});
