import type { Subscription } from 'rxjs';
import type { FleetEvent } from '../../lib';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp } from '../fixtures/test-app';
import { watchedEvents } from '../fixtures/watched-events';
import { createRedis, waitFor } from '../utils/redis';

/**
 * Review finding: each event a worker publishes is marked `<publisher>:<n>`, n counting up, and a
 * subscriber dropped any mark more than 4 096 behind the newest number it had heard of that
 * publisher. Anyone who can PUBLISH on the events channel (and SUBSCRIBE, to read one genuine mark)
 * sent one item marked `<publisher>:<huge n>`: from then on every genuine event of that worker was
 * "far behind" and dropped, for that subscription, for the worker's whole life.
 */
describe('attack: a forged mark on the fleet events channel', () => {
  const env = useProbeApps();
  const forger = createRedis();
  const listener = createRedis();
  let subscription: Subscription | undefined;

  afterEach(async () => {
    subscription?.unsubscribe();
    subscription = undefined;
    await listener.unsubscribe();
  });

  it("silences none of a worker's later events, and a replayed mark is still dropped", async () => {
    env.probe.on('echo', (payload) => payload);
    const worker = await startApp({ prefix: env.prefix, probe: env.probe });
    const watcher = await startApp({ prefix: env.prefix, options: { worker: false } });
    // The forger reads the channel as any subscriber can.
    const marks: string[] = [];
    listener.on('message', (_: string, message: string) => {
      for (const item of JSON.parse(message) as { m?: string }[]) if (item.m) marks.push(item.m);
    });
    await listener.subscribe(worker.keys.eventsChannel);
    const events: FleetEvent[] = [];
    subscription = await watchedEvents(watcher.client, events);
    await waitFor(() => marks.length > 0, { description: 'a genuine mark' });
    const genuine = marks[marks.length - 1];
    const publisher = genuine.slice(0, genuine.lastIndexOf(':'));

    const forged = (taskId: string, m: string) => ({
      type: 'completed',
      queue: 'default',
      taskId,
      name: 'echo',
      worker: 'forger',
      at: 1,
      m,
    });
    // As redis-cli PUBLISH would send it: one message, the absurd jump, the next marks as a count
    // would make them, an unknown publisher's, a malformed item carrying a mark, and a genuine
    // mark replayed with other content.
    await forger.publish(
      worker.keys.eventsChannel,
      JSON.stringify([
        forged('jump', `${publisher}:${Number.MAX_SAFE_INTEGER}`),
        ...Array.from({ length: 200 }, (_, i) => forged('predicted', `${publisher}:${i + 1}`)),
        forged('unknown', `someone:${Number.MAX_SAFE_INTEGER}`),
        { type: 'completed', m: `${publisher}:${Number.MAX_SAFE_INTEGER - 1}` },
        forged('replayed', genuine),
      ]),
    );
    await waitFor(() => events.some((e) => e.taskId === 'unknown'), { description: 'the forged message heard' });

    const handles = [];
    for (let i = 0; i < 5; i++) handles.push(await watcher.client.enqueue('echo', i));
    await Promise.all(handles.map((h) => h.result()));
    const ids = handles.map((h) => h.id);
    const completedOf = () => events.filter((e) => e.type === 'completed' && ids.includes(e.taskId!));
    await waitFor(() => completedOf().length === ids.length, {
      timeoutMs: 3_000,
      description: 'the completed events of the 5 runs after the forged message',
    }).catch(() => undefined);

    expect({
      after: completedOf()
        .map((e) => e.taskId)
        .sort(),
      replayedDelivered: events.some((e) => e.taskId === 'replayed'),
    }).toEqual({ after: [...ids].sort(), replayedDelivered: false });
  }, 30_000);
});
