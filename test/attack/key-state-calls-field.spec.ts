import { useProbeApps } from '../fixtures/probe-apps';
import { startApp } from '../fixtures/test-app';

/**
 * Field calls of a key state (the last runs its calls wrote, so a resent call is recognised once
 * a newer run holds the key) is bounded, and anyone with Redis access can write it: what it holds
 * then names no call of ours, and never fails or misleads an enqueue.
 */
describe('attack: the calls field of a key state', () => {
  const env = useProbeApps();
  const producer = () => startApp({ prefix: env.prefix, probe: env.probe, options: { worker: false } });

  it('keeps the last 8 calls, oldest first', async () => {
    const p = await producer();
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push((await p.client.replace('echo', i, { key: 'k' })).id);
    const calls = (await env.redis.hget(p.keys.keyState('k'), 'calls'))!.split(' ');
    expect(calls.map((c) => c.split('=')[0])).toEqual(ids.slice(2));
    expect(calls.every((c) => /=\d+$/.test(c))).toBe(true);
  });

  it.each([
    ['garbage', 'x = =x =1 ='],
    ['a generation that is not one', 'ID=inf ID=-1'],
    ['a long value', 'y'.repeat(100_000)],
  ])('a hand-written field (%s) fails no enqueue and is trimmed by the next', async (_, value) => {
    const p = await producer();
    const first = await p.client.enqueue('echo', 1, { key: 'k' });
    await env.redis.hset(p.keys.keyState('k'), 'calls', value.replace(/ID/g, 'not-a-call-of-ours'));
    const again = await p.client.enqueue('echo', 2, { key: 'k' });
    expect(again.id).toBe(first.id); // still the live run
    const next = await p.client.replace('echo', 3, { key: 'k' });
    expect(next.created).toBe(true);
    expect(next.id).not.toBe(first.id);
    const calls = (await env.redis.hget(p.keys.keyState('k'), 'calls'))!;
    expect(calls.endsWith(`${next.id}=${next.generation}`)).toBe(true);
    expect(calls.length).toBeLessThan(value.length + 100);
  });
});
