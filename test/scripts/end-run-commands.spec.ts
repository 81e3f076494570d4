import { randomUUID } from 'node:crypto';
import { closeAll, monitorNodeOf, waitFor } from '../utils/redis';
import { ScriptFixture } from './script-fixture';

/**
 * The commands endKeyedRun (includes/end-run.lua) sends when a keyed run ends for good: its key
 * state's end (state, finishedAt, and for a failure its error) is one HSET, and it reads no clock
 * of its own: the script's one TIME serves it. It wrote the error in a second HSET and read TIME
 * again, also in promote.lua, which had read it already, and once per keyed run of a complete batch.
 */
describe('scripts: a keyed run ends with one HSET of its state and the script’s one TIME', () => {
  let f: ScriptFixture;
  beforeEach(async () => (f = await new ScriptFixture().setUp()));
  afterEach(() => f.tearDown());
  afterAll(closeAll);

  /**
   * The commands (name lowercased, then its arguments) of the script calls `act` sends that name
   * `key`'s state, through MONITOR. A script's commands come as one run of 'lua' lines (it is
   * atomic): after its EVALSHA line on Redis 7.0, before it where MONITOR feeds a call once done.
   */
  async function scriptCommands(key: string, act: () => Promise<unknown>): Promise<string[][]> {
    const keyState = f.keys.keyState(key);
    const monitor = await monitorNodeOf(keyState);
    const lines: Array<{ args: string[]; lua: boolean }> = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) =>
      lines.push({ args, lua: source === 'lua' }),
    );
    await act();
    const marker = `${keyState}:marker-${randomUUID()}`;
    await f.redis.exists(marker);
    await waitFor(() => lines.some((l) => l.args.includes(marker)), { description: 'the marker in MONITOR output' });
    monitor.disconnect();
    const runAround = (at: number, step: 1 | -1) => {
      const run: string[][] = [];
      for (let i = at + step; lines[i]?.lua; i += step)
        run.push([lines[i].args[0].toLowerCase(), ...lines[i].args.slice(1)]);
      return step === 1 ? run : run.reverse();
    };
    const commands: string[][] = [];
    lines.forEach((line, at) => {
      if (line.lua || !/^eval(sha)?$/i.test(line.args[0]) || !line.args.includes(keyState)) return;
      const after = runAround(at, 1);
      commands.push(...(after.length > 0 ? after : runAround(at, -1)));
    });
    return commands;
  }

  const named = (commands: string[][], name: string, key?: string) =>
    commands.filter(([n, first]) => n === name && (key === undefined || first === key));
  const redisMs = async () => {
    const [s, us] = await f.redis.time();
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  };

  /** The key state's end: one HSET of state, finishedAt (Redis's clock during the call) and error. */
  async function expectOneEndWrite(
    commands: string[][],
    key: string,
    state: string,
    error: string | undefined,
    from: number,
  ) {
    const keyState = f.keys.keyState(key);
    const writes = named(commands, 'hset', keyState);
    expect(writes).toEqual([
      [
        'hset',
        keyState,
        'state',
        state,
        'finishedAt',
        expect.any(String),
        ...(error === undefined ? [] : ['error', error]),
      ],
    ]);
    const finishedAt = Number((await f.keyState(key)).finishedAt);
    expect(finishedAt).toBeGreaterThanOrEqual(from);
    expect(finishedAt).toBeLessThanOrEqual(await redisMs());
  }

  it('fail.lua, a keyed run dead-lettered after its last attempt: one HSET, one TIME', async () => {
    const [id, gen] = await f.enqueue({ key: 'k' });
    const [[entryId]] = await f.deliver('a');
    expect(await f.claim('a', [{ entryId, id, key: 'k', gen }])).toEqual(['run']);
    const from = await redisMs();
    const commands = await scriptCommands('k', () => f.fail('a', { entryId, id, key: 'k', gen, retryDelayMs: -1 }));
    await expectOneEndWrite(commands, 'k', 'failed', 'boom', from);
    expect(named(commands, 'time')).toHaveLength(1);
  });

  it('dead-letter.lua, a keyed run dead-lettered as malformed: one HSET, one TIME', async () => {
    const [id] = await f.enqueue({ key: 'k' });
    const [[entryId]] = await f.deliver('a');
    const from = await redisMs();
    const commands = await scriptCommands('k', () => f.deadLetter('a', entryId, 'payload too large', { id, key: 'k' }));
    await expectOneEndWrite(commands, 'k', 'failed', 'payload too large', from);
    expect(named(commands, 'time')).toHaveLength(1);
  });

  it('promote.lua, a keyed delayed member that does not decode: one HSET, its own TIME only', async () => {
    await f.enqueue({ key: 'k', delayMs: 3_600_000 });
    const [member] = await f.redis.zrange(f.keys.delayed, 0, 0);
    await f.redis.zrem(f.keys.delayed, member);
    await f.redis.zadd(f.keys.delayed, 0, member.replace('"a":"1"', '"a":1'));
    const from = await redisMs();
    const commands = await scriptCommands('k', () => f.promote());
    await expectOneEndWrite(commands, 'k', 'failed', 'delayed member does not decode', from);
    expect(named(commands, 'time')).toHaveLength(1);
  });

  it('complete.lua, a batch of three keyed runs: one HSET each, one TIME for the batch', async () => {
    const runs: Array<{ entryId: string; id: string; gen: number; key: string }> = [];
    for (const key of ['k', 'k2', 'k3']) {
      const [id, gen] = await f.enqueue({ key });
      runs.push({ entryId: '', id, gen, key });
    }
    for (const [i, [entryId]] of (await f.deliver('a')).entries()) runs[i].entryId = entryId;
    expect(await f.claim('a', runs)).toEqual(['run', 'run', 'run']);
    const from = await redisMs();
    const commands = await scriptCommands('k', () => f.complete('a', runs));
    for (const key of ['k', 'k2', 'k3']) await expectOneEndWrite(commands, key, 'completed', undefined, from);
    expect(named(commands, 'time')).toHaveLength(1);
  });
});
