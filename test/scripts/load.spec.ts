import { loadLuaSource } from '../../lib/redis/lua-source';
import { SCRIPT_NAMES } from '../../lib/redis/scripts';
import { closeAll, createRedis } from '../utils/redis';

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
