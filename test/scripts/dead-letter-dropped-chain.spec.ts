import { closeAll } from '../utils/helpers';
import { ScriptFixture } from './script-fixture';

const KEY = 'periodic:job';
/** The Redis time (ms) of the last boot that defined the chain (schedule-periodic.lua's definedAt). */
const DEFINED_AT = 1_000_000;

/**
 * dead-letter.lua with a run of a `@Task` chain the dead-lettering worker does not define (it
 * sends its boot's Redis time, w): as a settle (includes/successor.lua), the chain ends when that
 * worker booted after the last boot that defined it (a deploy dropped the schedule), and goes on
 * when it booted before (a worker of the version before a deploy that made the task periodic).
 */
describe('scripts: dead-letter.lua and a chain the dead-lettering worker does not define', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  async function deadLetterBootedAt(bootedAt: number) {
    const [id] = await f.enqueue({ key: KEY, periodic: true });
    await f.redis.hset(f.keys.keyState(KEY), 'sk', 'every', 'every', '60000', 'definedAt', DEFINED_AT);
    const [[entry]] = await f.deliver('w1');
    expect(await f.deadLetter('w1', entry, 'poison', { id, key: KEY, timing: { w: bootedAt } })).toBe('dead-lettered');
    const state = await f.keyState(KEY);
    return {
      state: state.state,
      ended: state.ended !== undefined,
      successors: await f.redis.zcard(f.keys.delayed),
    };
  }

  it('ends the chain when the worker booted after the last boot that defined it', async () => {
    expect(await deadLetterBootedAt(DEFINED_AT + 1)).toEqual({ state: 'failed', ended: true, successors: 0 });
    expect(await f.redis.pttl(f.keys.keyState(KEY))).toBe(-1);
  });

  it('keeps the chain when a boot defined it after the worker booted', async () => {
    expect(await deadLetterBootedAt(DEFINED_AT - 1)).toEqual({ state: 'delayed', ended: false, successors: 1 });
  });
});
