import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadLuaSource } from '../../lib/redis/lua-source';
import { SCRIPT_NAMES } from '../../lib/redis/scripts';

describe('loadLuaSource', () => {
  let dir: string;
  const include = (name: string, text: string) => writeFileSync(join(dir, 'includes', `${name}.lua`), text);
  const script = (name: string, lines: string[]) => writeFileSync(join(dir, `${name}.lua`), lines.join('\n'));

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sq-lua-'));
    mkdirSync(join(dir, 'includes'));
    include('helper-a', 'local function a() return 1 end');
    include('b2', 'local function b() return 2 end');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('inlines each `-- @include <name>` from includes/, once even when repeated', () => {
    script('main', ['-- @include helper-a', '-- @include b2', '-- @include helper-a', 'return a() + b()']);
    const source = loadLuaSource('main', dir);

    expect(source).not.toContain('@include');
    expect(source.split('local function a()')).toHaveLength(2);
    expect(source).toContain('local function b() return 2 end');
    expect(source.trimEnd().endsWith('return a() + b()')).toBe(true);
  });

  it("resolves an include's own includes transitively, dependencies first, each once", () => {
    include('base', 'local base = 1');
    include('mid', '-- @include base\nlocal function mid() return base end');
    include('top', '-- @include mid\n-- @include base\nlocal function top() return mid() end');
    script('main', ['-- @include top', '-- @include base', '-- @include mid', 'return top()']);
    const source = loadLuaSource('main', dir);

    expect(source).not.toContain('@include');
    const at = (text: string) => source.indexOf(text);
    expect(at('local base = 1')).toBeLessThan(at('local function mid()'));
    expect(at('local function mid()')).toBeLessThan(at('local function top()'));
    expect(source.split('local base = 1')).toHaveLength(2);
    expect(source.split('local function mid()')).toHaveLength(2);
  });

  it('leaves a script without includes unchanged', () => {
    writeFileSync(join(dir, 'plain.lua'), 'return 1\n');
    expect(loadLuaSource('plain', dir)).toBe('return 1\n');
  });

  it('throws on a missing include, naming it and who asked for it', () => {
    include('needs-ghost', '-- @include no-such-helper\nlocal x = 1');
    script('broken', ['-- @include needs-ghost', 'return 1']);
    expect(() => loadLuaSource('broken', dir)).toThrow(/"no-such-helper" \(asked for by includes\/needs-ghost\.lua\)/);
  });

  it('throws on a cycle of includes, naming it', () => {
    include('ping', '-- @include pong\nlocal function ping() end');
    include('pong', '-- @include ping\nlocal function pong() end');
    script('loop', ['-- @include ping', 'return 1']);
    expect(() => loadLuaSource('loop', dir)).toThrow('Lua includes form a cycle: ping -> pong -> ping');
  });

  it('uses a replacement source for an include when given one', () => {
    script('main', ['-- @include helper-a', 'return a()']);
    const source = loadLuaSource('main', { dir, replace: { 'helper-a': 'local function a() return 42 end' } });
    expect(source).toContain('return 42');
    expect(source).not.toContain('return 1 end');
  });

  it('resolves every shipped script with no include left over', () => {
    for (const name of SCRIPT_NAMES) {
      const source = loadLuaSource(name);
      expect(source).not.toMatch(/^--\s*@include/m);
      expect(source.length).toBeGreaterThan(0);
    }
  });
});

/**
 * The includes say what they need: every helper a script or an include calls (or `rcall`) comes
 * from an include it declares, directly or through the includes those declare. Without this,
 * a script works only while some other include it happens to list brings the helper along.
 */
describe('shipped Lua: every script and include declares what it uses', () => {
  const dir = join(__dirname, '..', '..', 'lib', 'scripts');
  const includeNames = readdirSync(join(dir, 'includes')).map((f) => f.replace(/\.lua$/, ''));
  const includeSource = (name: string) => readFileSync(join(dir, 'includes', `${name}.lua`), 'utf8');
  const declared = (source: string) => [...source.matchAll(/^-- @include ([a-z0-9-]+)\s*$/gm)].map((m) => m[1]);
  /** What a source can use: the names its includes define, transitively. */
  const reachable = (source: string, seen = new Set<string>()): Set<string> => {
    for (const name of declared(source)) {
      if (seen.has(name)) continue;
      seen.add(name);
      reachable(includeSource(name), seen);
    }
    return seen;
  };
  /** Which include defines each helper name. */
  const definedBy = new Map<string, string>();
  for (const name of includeNames) {
    for (const m of includeSource(name).matchAll(/^local function ([A-Za-z_]\w*)|^local ([A-Za-z_]\w*) = /gm))
      definedBy.set(m[1] ?? m[2], name);
  }
  const code = (source: string) => source.replace(/--\[\[[\s\S]*?\]\]/g, '').replace(/--.*$/gm, '');
  const undeclaredUses = (source: string, self?: string) => {
    const can = reachable(source);
    const missing: string[] = [];
    for (const [helper, owner] of definedBy) {
      if (owner === self || can.has(owner)) continue;
      if (new RegExp(`\\b${helper}\\s*\\(|\\b${helper}\\b`).test(code(source))) missing.push(`${helper} (${owner})`);
    }
    return missing;
  };

  it.each(includeNames)('includes/%s.lua', (name) => {
    expect(undeclaredUses(includeSource(name), name)).toEqual([]);
  });

  it.each(SCRIPT_NAMES)('%s.lua', (name) => {
    expect(undeclaredUses(readFileSync(join(dir, `${name}.lua`), 'utf8'))).toEqual([]);
  });

  it('names redis.call only in includes/rcall.lua', () => {
    const sources = [
      ...SCRIPT_NAMES.map((n) => [`${n}.lua`, readFileSync(join(dir, `${n}.lua`), 'utf8')]),
      ...includeNames.filter((n) => n !== 'rcall').map((n) => [`includes/${n}.lua`, includeSource(n)]),
    ];
    expect(sources.filter(([, s]) => /redis\.(p?call)/.test(code(s))).map(([f]) => f)).toEqual([]);
  });
});
