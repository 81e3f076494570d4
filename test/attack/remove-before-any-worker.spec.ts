import { useProbeApps } from '../fixtures/probe-apps';
import { startApp } from '../fixtures/test-app';
import { outcomeOf, PlainRetryTasksModule } from '../fixtures/removal-tasks';

/**
 * A producer-only deployment has no consumer group yet: remove-task.lua's pending check failed
 * with a raw NOGROUP ReplyError (the dashboard and CLI showed it as is). Without the group nothing
 * has read the entry, so it is removed (a review finding).
 */
describe('attack: remove() before any worker created the consumer group', () => {
  const env = useProbeApps();

  it('a queued task of a producer-only deployment is removed (not a raw ReplyError)', async () => {
    const a = await startApp({ prefix: env.prefix, imports: [PlainRetryTasksModule], options: { worker: false } });
    const h = await a.client.enqueue('plain.void', {});
    const found = (await a.client.findTask(h.id)).task?.state;
    const outcome = await outcomeOf(a.client.remove(h.id));
    expect({ found, outcome }).toEqual({ found: 'queued', outcome: { resolved: undefined } });
  });
});
