import { enqueueFlowScript } from '../../lib/scripts/enqueue-flow.script';
import { enterAdmissionScript } from '../../lib/scripts/enter-admission.script';
import { ScriptFixture, GROUP } from '../scripts/script-fixture';
import { closeAll } from '../utils/helpers';
import { waitingTaskIds } from '../fixtures/flow-state';

/**
 * flow:limits holds each task's limits under its name, beside fields of its own that start with a
 * NUL (the room's arrival sequence '\0arrivals', '\0parked', '\0changed\0<name>'): "task names have
 * no NUL". The client sees to that (checkName), but enqueue-flow.lua and enter-admission.lua record
 * the limits of whatever name they are sent. enqueue-flow.lua sent the name '\0arrivals' wrote
 * '1 0 1000 0 0 0 0' over the arrival sequence, and every later task that had to wait failed
 * ("hash value is not an integer"): the waiting room was closed for the whole partition. The
 * room entrances' shared check now takes a name only as checkName does (letters, digits, '_',
 * '.', ':', '-'), so no name meets those fields.
 */
describe('attack: a task name that is one of flow:limits’ own fields', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const limits = { global: 1, group: 0, agingMs: 1000 };

  it.each(['\0arrivals', '\0parked'])('enqueue-flow.lua refuses the name %j, and tasks still wait', async (name) => {
    await f.enqueueFlow('a', limits);
    await f.deliver('a'); // 'a' holds job's one slot
    await f.enqueueFlow('b', limits); // waits: the arrival sequence is counting

    const refused = await enqueueFlowScript(f.keys, { id: 'h', name, payload: '{}', delayMs: 0, runAt: 0, limits })
      .run(f.redis)
      .catch((e: unknown) => String(e));
    const waited = await f.enqueueFlow('c', limits).catch((e: unknown) => String(e));

    expect({ refused, waited, waiting: await waitingTaskIds(f.redis, f.keys) }).toEqual({
      refused: expect.stringContaining('a task id, name or group a worker does not take') as string,
      waited: { id: 'c', generation: 0, outcome: 'created', entryId: undefined, waitsForSlot: true },
      waiting: ['b', 'c'],
    });
  });

  it('enter-admission.lua does not move an entry named \\0arrivals', async () => {
    await f.enqueueFlow('a', limits);
    await f.deliver('a');
    await f.enqueueFlow('b', limits);
    const before = await f.redis.hgetall(f.keys.flow.limits);
    const entryId = (await f.redis.xadd(f.keys.stream, '*', 'id', 'x', 'n', '\0arrivals', 'p', '{}'))!;
    await f.deliver('b');

    const reply = await enterAdmissionScript(f.keys, { group: GROUP, consumer: 'b', entryId, taskId: 'x', limits }).run(
      f.redis,
    );

    expect({ outcome: reply.outcome, limits: await f.redis.hgetall(f.keys.flow.limits) }).toEqual({
      outcome: 'not-to-move',
      limits: before,
    });
  });
});
