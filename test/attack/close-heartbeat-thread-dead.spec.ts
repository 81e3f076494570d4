import { ConsumerHost } from '../../lib/consumer/consumer.host';
import { holdHeartbeatRestart, leaseKeeperOf } from '../fixtures/held-heartbeat-restart';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp } from '../fixtures/test-app';
import { Latch } from '../utils/latch';
import { waitFor } from '../utils/redis';

/*
 * Review finding: a clean stop (app.close(): LeaseKeeper.stop(true)) has the heartbeat thread
 * DEL the worker's liveness key, so its abandoned runs are taken over at once. A stop that came
 * while the thread was dead and its restart pending found no thread and deleted nothing: the key
 * stayed until it expired (up to a lease after the last beat), and another worker took the runs
 * over only then. Now the stop deletes it from the main thread's command connection, once no
 * thread can write it any more (the dead one sends nothing, no restart starts after the stop).
 */
describe('attack: a clean stop while the heartbeat thread is dead', () => {
  const env = useProbeApps();

  it('deletes the liveness key; the held restart, let go after the stop, writes nothing', async () => {
    const w = await startApp({ prefix: env.prefix, probe: env.probe, options: { worker: true } });
    const consumer = (w.app.get(ConsumerHost) as unknown as { consumerName: string }).consumerName;
    const alive = w.keys.alive(consumer);
    expect(await env.redis.exists(alive)).toBe(1);
    const gate = new Latch();
    const restarted = holdHeartbeatRestart(w, gate);
    // The restart is due (its timer fired) and held at the gate when the stop comes.
    const keeper = leaseKeeperOf(w) as unknown as { spawn(): Promise<void> };
    const held = keeper.spawn;
    let restartDue = false;
    keeper.spawn = () => {
      restartDue = true;
      return held.call(keeper);
    };
    await leaseKeeperOf(w).thread!.terminate();
    await waitFor(() => restartDue, { description: "the dead thread's restart due" });

    await w.close();
    expect({ exists: await env.redis.exists(alive), pttl: await env.redis.pttl(alive) }).toEqual({
      exists: 0,
      pttl: -2,
    });
    // The restart held since before the stop starts no thread: no beat after the DEL.
    gate.open();
    await restarted;
    expect(leaseKeeperOf(w).thread).toBeUndefined();
    expect(await env.redis.exists(alive)).toBe(0);
  }, 15_000);
});
