import type { Subscription } from 'rxjs';
import type { FleetEvent } from '../../lib';
import { WATCH_MESSAGE } from '../../lib/client/fleet-events';
import { FleetEventRelay } from '../../lib/consumer/fleet-event-relay';
import { useAclRedis } from '../fixtures/acl-redis';
import { startApp } from '../fixtures/test-app';
import { createRedis, randomPrefix, waitFor } from '../utils/redis';

/** How often a worker asks on its own whether its queues are watched (WATCH_CHECK_MS). */
const WATCH_CHECK_MS = 5_000;

/**
 * A watcher announces itself on the control channel. One sent while a worker's control
 * connection was down was lost, and that worker dropped its events until its next periodic check,
 * which runs only at an event WATCH_CHECK_MS after the previous one. A worker whose control
 * subscriber is back asks at once.
 */
describe("attack: fleet events after a worker's control connection reconnects", () => {
  const acl = useAclRedis('control-reconnect');
  let subscription: Subscription | undefined;
  afterEach(() => subscription?.unsubscribe());

  it('publishes the events of runs right after the reconnect, to a watcher that announced itself meanwhile', async () => {
    const prefix = randomPrefix();
    const admin = createRedis({}, acl.url());
    const worker = await startApp({ prefix, options: { connection: { url: await acl.userDenied('worker') } } });
    // Unwatched, just checked: left to itself, the worker asks again only WATCH_CHECK_MS from now.
    await worker.app.get(FleetEventRelay).checkWatched(['default']);
    const checkedAt = Date.now();

    // The worker's control subscriber is cut and cannot come back (its user is off; the
    // connections it has stay authenticated) until the watcher has announced itself.
    const workerSubscribers = async () =>
      ((await admin.client('LIST')) as string)
        .split('\n')
        .filter((line) => / user=worker /.test(line) && / flags=P /.test(line));
    const control = await workerSubscribers();
    expect(control).toHaveLength(1);
    await admin.call('ACL', 'SETUSER', 'worker', 'off');
    await admin.client('KILL', 'ID', /\bid=(\d+)/.exec(control[0])![1]);

    const announcements = createRedis({}, acl.url());
    const announced = new Promise<void>((resolve) =>
      announcements.on('message', (_: string, message: string) => message === WATCH_MESSAGE && resolve()),
    );
    await announcements.subscribe(worker.keys.controlChannel);
    const watcher = await startApp({ prefix, options: { worker: false, connection: { url: acl.url() } } });
    const received: FleetEvent[] = [];
    subscription = watcher.client.events().subscribe((e) => received.push(e));
    await announced;

    await admin.call('ACL', 'SETUSER', 'worker', 'on');
    await waitFor(async () => (await workerSubscribers()).length === 1, {
      description: "the worker's control subscriber back",
    });
    // Runs until one's event arrives: before the fix, none did until the periodic check.
    let arrivedAt = 0;
    await waitFor(
      async () => {
        const handle = await watcher.client.enqueue('echo', 'after the reconnect');
        await handle.result();
        await new Promise((resolve) => setTimeout(resolve, 50));
        if (received.some((e) => e.type === 'completed' && e.taskId === handle.id)) arrivedAt = Date.now();
        return arrivedAt > 0;
      },
      { timeoutMs: 15_000, description: 'the event of a run after the reconnect' },
    );
    expect(arrivedAt - checkedAt).toBeLessThan(WATCH_CHECK_MS);
  });
});
