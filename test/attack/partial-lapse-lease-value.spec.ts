import { echoBlockedBy } from '../fixtures/probe';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp } from '../fixtures/test-app';
import { QueueKeys } from '../../lib/redis/keys';
import { partitionOfKey } from '../../lib/partitions/queue-partitions';
import { Latch } from '../utils/latch';
import { waitFor } from '../utils/redis';

/**
 * Attack on field rliv (the lease a keyed run was claimed under): a worker holds one liveness key
 * per partition, and a lapse of one of them (deleted by an operator, evicted) made the heartbeat
 * write that key with the next incarnation and, from the beat after, renew every other key with
 * it too (SET XX of the new value): a key that never lapsed changed its value. A keyed run claimed
 * on another partition between the two beats, once its own lease had started again, recorded the
 * old value; a beat later its owner's key held another value and runLeaseHeld judged the live run
 * gone: with its stream purged, an enqueue() of the key added a second run while the first still
 * ran on its live, never-lapsed owner (two runs of one key at once).
 */
describe('attack: a lapse of one liveness key changes the lease value of the others', () => {
  const env = useProbeApps();

  it('a keyed run started after the lapse keeps its lease value; enqueue() still sees it running', async () => {
    const gate = new Latch();
    env.probe.on('echo', echoBlockedBy(gate));
    const w = await startApp({
      prefix: env.prefix,
      probe: env.probe,
      options: { concurrency: 2, queues: { default: { partitions: 2 } } },
    });
    const p = partitionOfKey('k', 2);
    const own = new QueueKeys(env.prefix, 'default', p);
    const other = new QueueKeys(env.prefix, 'default', 1 - p);
    const consumers = await env.redis.keys(`${own.alive('*')}`);
    expect(consumers).toHaveLength(1);
    const owner = consumers[0].slice(own.alive('').length);
    const aliveOwn = own.alive(owner);
    const aliveOther = other.alive(owner);
    // A renewal shows as the key's TTL going up from one read to the next. (Compared with the first
    // read alone, a first read in the millisecond of a renewal could never be exceeded.)
    const renewalOf = async (key: string) => {
      let last = await env.redis.pttl(key);
      await waitFor(
        async () => {
          const ttl = await env.redis.pttl(key);
          const renewed = ttl > last;
          last = ttl;
          return renewed;
        },
        { description: `a beat renewing ${key}` },
      );
    };

    // Right after a beat, the other partition's key lapses: the next beat writes it again.
    await renewalOf(aliveOwn);
    const before = await env.redis.get(aliveOther);
    await env.redis.del(aliveOther);
    await waitFor(
      async () => {
        const now = await env.redis.get(aliveOther);
        return now !== null && now !== before;
      },
      { description: 'the lapsed key written again' },
    );

    // A keyed run of the never-lapsed partition starts under the new chain.
    const first = await w.client.enqueue('echo', 'block', { key: 'k' });
    await waitFor(() => env.probe.runs.some((r) => r.payload === 'block'), { description: "'block' running" });
    const rliv = await env.redis.hget(own.keyState('k'), 'rliv');
    expect(rliv).toBe(await env.redis.get(aliveOwn));

    // Beats later, no lapse since: the run's owner still holds the lease it was claimed under.
    await renewalOf(aliveOwn);
    await renewalOf(aliveOwn);
    expect(w.events.counters()['lease-lost']).toBe(0);
    expect(await env.redis.get(aliveOwn)).toBe(rliv);

    // Its stream purged, the run is stranded but its owner lives: enqueue() returns it.
    await env.redis.del(own.stream);
    const second = await w.client.enqueue('echo', 'second', { key: 'k' });
    expect({ created: second.created, same: second.id === first.id }).toEqual({ created: false, same: true });
    gate.open();
    await expect(first.result({ timeoutMs: 5_000 })).resolves.toBe('block');
    expect(env.probe.runs.map((r) => r.payload)).toEqual(['block']);
  });
});
