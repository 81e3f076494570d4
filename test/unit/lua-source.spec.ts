import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadLuaSource } from '../../lib/redis/lua-source';
import { SCRIPT_NAMES } from '../../lib/redis/scripts';

describe('loadLuaSource', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sq-lua-'));
    mkdirSync(join(dir, 'includes'));
    writeFileSync(join(dir, 'includes', 'helper-a.lua'), 'local function a() return 1 end');
    writeFileSync(join(dir, 'includes', 'b2.lua'), 'local function b() return 2 end');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('inlines each `-- @include <name>` from includes/, once even when repeated', () => {
    writeFileSync(
      join(dir, 'main.lua'),
      ['-- @include helper-a', '-- @include b2', '-- @include helper-a', 'return a() + b()'].join('\n'),
    );
    const source = loadLuaSource('main', dir);

    expect(source).not.toContain('@include');
    expect(source.split('local function a()')).toHaveLength(2);
    expect(source).toContain('local function b() return 2 end');
    expect(source.trimEnd().endsWith('return a() + b()')).toBe(true);
  });

  it('leaves a script without includes unchanged', () => {
    writeFileSync(join(dir, 'plain.lua'), 'return 1\n');
    expect(loadLuaSource('plain', dir)).toBe('return 1\n');
  });

  it('throws on a missing include, naming it', () => {
    writeFileSync(join(dir, 'broken.lua'), '-- @include no-such-helper\nreturn 1');
    expect(() => loadLuaSource('broken', dir)).toThrow(/no-such-helper/);
  });

  it('resolves every shipped script with no include left over', () => {
    for (const name of SCRIPT_NAMES) {
      const source = loadLuaSource(name);
      expect(source).not.toMatch(/^--\s*@include/m);
      expect(source.length).toBeGreaterThan(0);
    }
  });
});
