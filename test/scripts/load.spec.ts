import { loadLuaSource } from '../../lib/redis/lua-source';
import { QueueKeys } from '../../lib/redis/keys';
import { defineScripts, SCRIPT_NAMES } from '../../lib/redis/scripts';
import { enqueueScript } from '../../lib/scripts/enqueue.script';
import { closeAll, createRedis, randomPrefix } from '../utils/redis';

describe('Lua scripts', () => {
  afterAll(closeAll);

  it.each(SCRIPT_NAMES)('%s resolves its includes and compiles in Redis', async (name) => {
    const source = loadLuaSource(name);
    expect(source).not.toMatch(/@include/);
    const sha = await createRedis().script('LOAD', source);
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
  });

  it.each(SCRIPT_NAMES)('%s documents KEYS, ARGV and its return value in its header', (name) => {
    const header = loadLuaSource(name).split(']]')[0];
    expect(header).toMatch(/KEYS\[1\]/);
    expect(header).toMatch(/ARGV\[1\]/);
    expect(header).toMatch(/Returns/);
    expect(header).toMatch(/Atomic/);
    // A reader sees what the script takes before the details.
    const opening = header.split('\n').slice(0, 8).join('\n');
    expect(opening).toMatch(/KEYS/);
    expect(opening).toMatch(/ARGV/);
  });
});

describe('scripts after Redis lost its script cache', () => {
  afterAll(closeAll);

  it('are sent again (EVAL after NOSCRIPT), alone and in a pipeline', async () => {
    const redis = createRedis();
    defineScripts(redis);
    const keys = new QueueKeys(randomPrefix(), 'q');
    const enqueue = (id: string) =>
      enqueueScript(keys, {
        id,
        name: 'job',
        payload: '{}',
        delayMs: 0,
        runAt: 0,
        mode: 'add',
        key: undefined,
        partitions: 1,
        everyMs: 0,
        periodic: false,
      });
    const created = (id: string) => ({ outcome: 'created', id, generation: 0, entryId: expect.any(String) });
    await redis.script('FLUSH');
    expect(await enqueue('alone').run(redis)).toEqual(created('alone'));
    await redis.script('FLUSH');
    expect(await enqueue('now').runNow(redis)).toEqual(created('now'));
    await redis.script('FLUSH');
    const pipeline = redis.pipeline();
    const piped = enqueue('piped');
    piped.queueOn(pipeline);
    const [[error, reply]] = (await pipeline.exec())!;
    expect([error, piped.decode(reply)]).toEqual([null, created('piped')]);
    expect(await redis.xlen(keys.stream)).toBe(3);
    await redis.del(keys.stream);
  });
});
