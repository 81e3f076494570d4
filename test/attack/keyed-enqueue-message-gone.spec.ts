import { KeyConflictError } from '../../lib';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp } from '../fixtures/test-app';

/**
 * Attack: a keyed task's message deleted behind the library's back (an operator's DEL of a
 * queue's stream to purge it, an XDEL or XTRIM of its entry, a DEL of the delayed set) left its
 * key state saying queued or delayed, kept without expiry. An enqueue of the key in 'add' mode
 * took that state for the live run and answered with its id: nothing ran, ever, for that key
 * (only a replace() got it going again), and another task's enqueue under the key was refused
 * with KeyConflictError for a run that no longer existed.
 */
describe('attack: enqueue of a key whose waiting run was deleted from Redis', () => {
  const env = useProbeApps();

  const producer = () => startApp({ prefix: env.prefix, probe: env.probe, options: { worker: false } });
  const worker = () => startApp({ prefix: env.prefix, probe: env.probe });

  it('a queued run whose stream entry is gone: a new run is added and runs', async () => {
    env.probe.on('echo', (payload) => payload);
    const p = await producer();
    const first = await p.client.enqueue('echo', 'first', { key: 'k' });
    await env.redis.del(p.keys.stream); // an operator purges the queue
    const second = await p.client.enqueue('echo', 'second', { key: 'k' });
    expect(second.id).not.toBe(first.id);
    expect(second.created).toBe(true);
    await worker();
    await expect(second.result({ timeoutMs: 5_000 })).resolves.toBe('second');
  });

  it('a delayed run whose member is gone: a new run is added and runs', async () => {
    env.probe.on('echo', (payload) => payload);
    const p = await producer();
    const first = await p.client.enqueue('echo', 'first', { key: 'k', delayMs: 60_000 });
    await env.redis.del(p.keys.delayed);
    const second = await p.client.enqueue('echo', 'second', { key: 'k' });
    expect(second.id).not.toBe(first.id);
    await worker();
    await expect(second.result({ timeoutMs: 5_000 })).resolves.toBe('second');
  });

  it("another task's run that is gone is no conflict", async () => {
    env.probe.on('once', () => 'once ran');
    const p = await producer();
    await p.client.enqueue('echo', 'first', { key: 'k' });
    const [entry] = await env.redis.xrange(p.keys.stream, '-', '+');
    await env.redis.xdel(p.keys.stream, entry[0]);
    const other = await p.client.enqueue('once', null, { key: 'k' });
    await worker();
    await expect(other.result({ timeoutMs: 5_000 })).resolves.toBe('once ran');
  });

  it('a waiting run that is still there is the live run, as before', async () => {
    const p = await producer();
    const first = await p.client.enqueue('echo', 'first', { key: 'k' });
    const again = await p.client.enqueue('echo', 'again', { key: 'k' });
    expect(again.id).toBe(first.id);
    expect(again.created).toBe(false);
    await expect(p.client.enqueue('once', null, { key: 'k' })).rejects.toBeInstanceOf(KeyConflictError);
  });
});
