import { Injectable, Module } from '@nestjs/common';
import { Task } from '../../lib';
import { FleetReads } from '../../lib/client/fleet-reads';
import { defineScripts } from '../../lib/redis/scripts';
import { useProbeApps } from '../fixtures/probe-apps';
import { outcomeOf } from '../fixtures/removal-tasks';
import { startApp } from '../fixtures/test-app';
import { createRedis, Latch } from '../utils/helpers';
import { interceptCommands } from '../fixtures/command-hooks';

@Injectable()
class Noop {
  @Task('noop.later')
  later() {
    return undefined;
  }
}
@Module({ providers: [Noop] })
class NoopModule {}

/** A connection whose n-th ZRANGE waits for `release`. */
function holdNth(n: number) {
  const redis = createRedis();
  defineScripts(redis);
  const reached = new Latch();
  const release = new Latch();
  let calls = 0;
  const proxy = interceptCommands(redis, {
    zrange: async (_args, send) => {
      if (++calls === n) {
        reached.open();
        await release.wait();
      }
      return send();
    },
  });
  return { proxy, reached, release };
}

/**
 * The delayed listing's cursor is '<due>:<members already returned at that due time>': a member
 * at that due time removed between two pages shifts the next page, which then skips a task that
 * is still delayed, and remove() answered TaskNotFoundError (a review finding). A lookup's second
 * pass reads the listing again. (The public listing keeps this limit under concurrent removals.)
 */
describe('attack: remove() of a delayed task while another of its due time is removed between pages', () => {
  const env = useProbeApps();

  it('the target on the second page is still found and removed', async () => {
    const a = await startApp({ prefix: env.prefix, imports: [NoopModule] });
    const runAt = Date.now() + 120_000;
    const handles = await a.client.enqueueMany(
      Array.from({ length: 501 }, (_, i) => ({ name: 'noop.later', payload: { i }, options: { runAt } })),
    );
    expect((await a.client.counts()).delayed).toBe(501);
    const first = await a.client.list('delayed', { limit: 500 });
    const second = await a.client.list('delayed', { limit: 500, cursor: first.cursor! });
    const target = second.tasks[0].id!;
    const victim = first.tasks[0].id!;
    expect(handles.length).toBe(501);

    const { proxy, reached, release } = holdNth(2);
    const removal = outcomeOf(new FleetReads(proxy, () => [a.keys], 60_000).remove(target));
    await reached.wait(); // page 1 read (cursor <due>:500); page 2 not yet
    await a.client.remove(victim); // an operator removes another delayed task meanwhile
    release.open();
    const outcome = await removal;
    const stillDelayed = (await a.client.findTask(target)).task?.state;
    expect({ outcome, stillDelayed }).toEqual({ outcome: { resolved: undefined }, stillDelayed: undefined });
  });
});
