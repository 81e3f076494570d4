import { enterAdmissionScript } from '../../lib/scripts/enter-admission.script';
import { closeAll, sleep } from '../utils/helpers';
import { GROUP, ScriptFixture } from './script-fixture';
import { heldTaskIds, waitingTaskIds } from '../fixtures/flow-state';

/**
 * A plain entry moved into admission by a worker whose definition raises the task's limit: the
 * raise admits the waiting backlog in rank order, and the moved task, enqueued before the tasks
 * waiting there, is part of that backlog. It used to enter after the raise was fed, so the slot
 * went to a task enqueued after it.
 */
describe('enter-admission under a raised limit: the moved task takes its place in the backlog', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  it('globalConcurrency 1 raised to 2 by the move: the freed slot goes to the moved task, enqueued first', async () => {
    const one = { global: 1, group: 0, agingMs: 1000 };
    const blocker = await f.enqueueFlow('blocker', one);
    expect(blocker.entryId).toBeDefined();
    // A producer without the definition, at t: rank t + 4,000 once moved.
    const plainEntry = await f.redis.xadd(f.keys.stream, '*', 'id', 'plain', 'n', 'job', 'p', '{}', 'a', '1');
    await sleep(5);
    // The same priority, enqueued after it: rank t + 5 + 4,000. It waits for the slot.
    expect((await f.enqueueFlow('later', one)).entryId).toBeUndefined();
    await f.deliver('a');
    const moved = await enterAdmissionScript(f.keys, {
      group: GROUP,
      consumer: 'a',
      entryId: plainEntry!,
      taskId: 'plain',
      limits: { global: 2, group: 0, agingMs: 1000 },
    }).run(f.redis);
    expect(moved.outcome).toBe('moved');
    expect(await heldTaskIds(f.redis, f.keys)).toEqual(['blocker', 'plain']);
    expect(await waitingTaskIds(f.redis, f.keys)).toEqual(['later']);
  });
});
