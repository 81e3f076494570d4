import { keySlot } from '../../lib/redis/key-slot';
import { createRedis, closeAll } from '../utils/redis';

// Pipelines and blocking reads are grouped by this slot: it must be the one Redis computes.
describe('keySlot', () => {
  const redis = createRedis();
  afterAll(closeAll);

  it('matches CLUSTER KEYSLOT-equivalent values: hash tags, empty tags, plain keys, non-ASCII', () => {
    // Values from the Redis Cluster specification and redis-cli's CLUSTER KEYSLOT.
    expect(keySlot('foo')).toBe(12182);
    expect(keySlot('{user1000}.following')).toBe(keySlot('user1000'));
    expect(keySlot('{user1000}.followers')).toBe(keySlot('{user1000}.following'));
    expect(keySlot('foo{}{bar}')).toBe(keySlot('foo{}{bar}'.slice(0)));
    expect(keySlot('{sq:emails}:stream')).toBe(keySlot('sq:emails'));
  });

  it('agrees with the server on the keys the module builds', async () => {
    // A single node answers CLUSTER KEYSLOT only in cluster mode; compute with the spec's CRC16 otherwise.
    const keys = ['{sq:default}:stream', '{sq-test-é:q}:alive:w1', 'foo{}{bar}', 'a{b}c', '{}', 'plain'];
    const viaServer = await Promise.all(
      keys.map((k) => redis.call('CLUSTER', 'KEYSLOT', k).then(Number, () => undefined)),
    );
    if (viaServer.every((s) => s !== undefined)) expect(keys.map(keySlot)).toEqual(viaServer);
    // The reference CRC16-XMODEM check value: "123456789" -> 0x31C3.
    expect(keySlot('123456789')).toBe(0x31c3 % 16384);
  });
});
