import { loadLuaSource } from '../../lib/redis/lua-source';
import { QueueKeys } from '../../lib/redis/keys';
import { defineScripts, runScript, SCRIPT_NAMES } from '../../lib/redis/scripts';
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
  });
});

describe('scripts after Redis lost its script cache', () => {
  afterAll(closeAll);

  it('are sent again (EVAL after NOSCRIPT), alone and in a pipeline', async () => {
    const redis = createRedis();
    defineScripts(redis);
    const keys = new QueueKeys(randomPrefix(), 'q');
    const enqueue = (id: string): [string[], string[]] => [
      [keys.stream, keys.delayed],
      [id, 'job', '{}', '0', '0', 'add', '', keys.controlChannel],
    ];
    await redis.script('FLUSH');
    expect(await runScript(redis, 'enqueue', ...enqueue('alone'))).toEqual(['alone', 0, 1, expect.any(String), 'job']);
    await redis.script('FLUSH');
    const pipeline = redis.pipeline();
    runScript(pipeline, 'enqueue', ...enqueue('piped'));
    expect(await pipeline.exec()).toEqual([[null, ['piped', 0, 1, expect.any(String), 'job']]]);
    expect(await redis.xlen(keys.stream)).toBe(2);
    await redis.del(keys.stream);
  });
});
