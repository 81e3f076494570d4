import { enqueueFlowScript } from '../../lib/scripts/enqueue-flow.script';
import { ScriptFixture } from '../scripts/script-fixture';
import { closeAll } from '../utils/helpers';
import { waitingTaskIds } from '../fixtures/flow-state';

/**
 * enqueue-flow.lua trusted its caller: the client checks a group (1 to 256 characters, no NUL, no
 * lone surrogate) and a name (checkName), and draws the id, but the script put whatever it was
 * sent through admission. Sent a group of 257 characters (a caller of the script of another
 * version, or none of this package), it put the task in the waiting room, or, delayed, in the
 * delayed set for a later promotion. It now refuses, before it writes anything, with the check
 * every room entrance shares (includes/task-text.lua).
 */
describe('attack: enqueue-flow.lua sent an id, name or group longer than a worker takes', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  const limits = { global: 1, group: 0, agingMs: 1000 };
  const enqueue = (task: { id: string; name: string; group?: string }, delayMs = 0) =>
    enqueueFlowScript(f.keys, { ...task, payload: '{}', delayMs, runAt: 0, limits }).run(f.redis);

  it.each([
    ['a group of 257 characters', { id: 'x', name: 'job', group: 'g'.repeat(257) }],
    ['an id of 257 characters', { id: 'x'.repeat(257), name: 'job', group: 'G' }],
    ['a name of 129 characters', { id: 'x', name: 'j'.repeat(129), group: 'G' }],
  ])('refuses %s, now or delayed, and writes nothing', async (_, task) => {
    await enqueue({ id: 'a', name: 'job' });
    await f.deliver('a'); // 'a' holds job's one slot: the task would wait in the room
    const limitsBefore = await f.redis.hgetall(f.keys.flow.limits);

    const now = await enqueue(task).catch((e: unknown) => e);
    const later = await enqueue(task, 60_000).catch((e: unknown) => e);

    expect({
      now: String(now),
      later: String(later),
      waiting: await waitingTaskIds(f.redis, f.keys),
      delayed: await f.redis.zcard(f.keys.delayed),
      stream: await f.redis.xlen(f.keys.stream),
      limits: await f.redis.hgetall(f.keys.flow.limits),
    }).toEqual({
      now: expect.stringContaining('a task id, name or group a worker does not take') as string,
      later: expect.stringContaining('a task id, name or group a worker does not take') as string,
      waiting: [],
      delayed: 0,
      stream: 1,
      limits: limitsBefore,
    });
  });
});
