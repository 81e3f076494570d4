import { GROUP_READ_LIMIT } from '../../lib/scripts/queue-state.script';
import { removeTaskScript } from '../../lib/scripts/remove-task.script';
import { removeTask } from '../../lib/client/task-removal';
import { GROUP, ScriptFixture } from '../scripts/script-fixture';
import { closeAll, monitorNodeOf } from '../utils/redis';

/**
 * remove-task.lua (a queued task) found the workers' group in XINFO GROUPS, which lists every
 * consumer group of the stream, and anyone who can write to Redis can create groups (XGROUP
 * CREATE): with 200,000 groups each removal was a script of more than a second that blocked
 * Redis. remove() finds the task through the queued listing first, which already refuses such
 * a stream (TOO_MANY_GROUPS), but groups created between that listing and the script, or any
 * other call of it, reached the listing. The script now counts the groups first and refuses past
 * GROUP_READ_LIMIT ('GROUPS <count>', read as TOO_MANY_GROUPS), removing nothing. A review
 * finding; the spec failed.
 */
describe('attack: removing a queued task from a stream with hundreds of consumer groups', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  async function groups(n: number): Promise<void> {
    const pipeline = f.redis.pipeline();
    for (let i = 1; i < n; i++) pipeline.xgroup('CREATE', f.keys.stream, `foreign-${i}`, '$');
    expect((await pipeline.exec())?.every(([error]) => !error)).toBe(true);
  }

  async function queued(): Promise<{ id: string; entryId: string }> {
    const [id] = await f.enqueue();
    const [[entryId]] = await f.redis.xrange(f.keys.stream, '-', '+');
    return { id, entryId };
  }

  it('is refused without listing the groups, and removes nothing', async () => {
    const task = await queued();
    await groups(GROUP_READ_LIMIT + 50);
    const monitor = await monitorNodeOf(f.keys.stream);
    const seen: string[] = [];
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args.includes(f.keys.stream)) seen.push(`${args[0]} ${args[1] ?? ''}`.toLowerCase());
    });
    const outcome = await removeTaskScript(f.keys, { ...task, state: 'queued' }, 60_000)
      .run(f.redis)
      .catch((error: Error) => error);
    await f.redis.ping();
    await new Promise((resolve) => setTimeout(resolve, 100));
    monitor.disconnect();
    expect(outcome).toEqual(expect.objectContaining({ message: `GROUPS ${GROUP_READ_LIMIT + 50}` }));
    expect(seen.filter((c) => c.startsWith('xinfo groups'))).toEqual([]);
    expect(await f.redis.xlen(f.keys.stream)).toBe(1);
  });

  it('remove() answers TOO_MANY_GROUPS naming the queue', async () => {
    const task = await queued();
    await groups(GROUP_READ_LIMIT + 50);
    // The queued listing as it read before the groups were created (it reads them since).
    const page = (tasks: object[]) => () => Promise.resolve({ tasks, cursor: null });
    const inspector = { delayed: page([]), queued: page([{ ...task, state: 'queued' }]), running: page([]) };
    const outcome = await removeTask(f.redis, inspector as never, f.keys, task.id, 60_000).catch((e: Error) => e);
    expect(outcome).toMatchObject({ code: 'TOO_MANY_GROUPS', message: expect.stringContaining('"q" has 150') });
  });

  it('control: within the bound, a queued task is removed and a read one is refused as running', async () => {
    const task = await queued();
    await groups(GROUP_READ_LIMIT);
    await expect(removeTaskScript(f.keys, { ...task, state: 'queued' }, 60_000).run(f.redis)).resolves.toBe('removed');
    const read = await queued();
    await f.deliver('a');
    await expect(removeTaskScript(f.keys, { ...read, state: 'queued' }, 60_000).run(f.redis)).resolves.toBe('running');
    await f.redis.xack(f.keys.stream, GROUP, read.entryId);
    await expect(removeTaskScript(f.keys, { ...read, state: 'queued' }, 60_000).run(f.redis)).resolves.toBe(
      'not-there',
    );
  });
});
