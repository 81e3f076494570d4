import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadLuaSource } from '../../lib/redis/lua-source';
import { QueueKeys } from '../../lib/redis/keys';
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

/**
 * The static half of "every key a script touches is in KEYS" (the other half runs every script
 * spec with an rcall that rejects undeclared keys, see test/scripts/declared-keys.ts): the key
 * a command names is KEYS[...] or a variable, and no such variable is built from ARGV, a string
 * or by concatenation (`prefix .. id`: a derived key, invisible to Redis Cluster's routing).
 */
describe('shipped Lua: no script derives a key', () => {
  const code = (source: string) => source.replace(/--\[\[[\s\S]*?\]\]/g, '').replace(/--.*$/gm, '');

  it.each(SCRIPT_NAMES)('%s.lua', (name) => {
    expect(derivedKeys(code(loadLuaSource(name)))).toEqual([]);
  });

  it('finds a key built by concatenation, directly or through a variable', () => {
    const direct = "rcall('SET', ARGV[1] .. id, 1)";
    const viaVariable = "local keyState = m.k and (ARGV[2] .. m.k) or nil\nrcall('HGET', keyState, 'id')";
    expect(derivedKeys(direct)).toEqual(['SET ARGV[1] .. id']);
    expect(derivedKeys(viaVariable)).toEqual(['HGET keyState = m.k and (ARGV[2] .. m.k) or nil']);
    expect(derivedKeys("local stream, group = KEYS[1], ARGV[1]\nrcall('XLEN', stream)")).toEqual([]);
  });
});

/** Commands naming a key whose key argument is derived, as "<command> <expression>". */
function derivedKeys(source: string): string[] {
  const found: string[] = [];
  const derived = (expr: string) => /\.\.|ARGV|['"]/.test(expr);
  for (const m of source.matchAll(/rcall\('([A-Z]+)'((?:\s*,\s*[^,)]+){0,2})/g)) {
    const [, command, rest] = m;
    if (command === 'TIME' || command === 'PUBLISH') continue;
    const args = splitTopLevel(rest.replace(/^\s*,/, ''));
    const key = (command === 'XGROUP' || command === 'XINFO' ? args[1] : args[0])?.trim();
    if (key === undefined) continue;
    if (/^KEYS\[[^\]]+\]$/.test(key)) continue;
    // includes/flow.lua passes the partition's flow keys as a table F, every field a KEYS entry.
    if (/^F\.[a-z]+$/.test(key) && flowKeysFromKeys(source)) continue;
    if (!/^[A-Za-z_]\w*$/.test(key)) {
      found.push(`${command} ${key}`);
      continue;
    }
    for (const expr of assignmentsOf(source, key)) if (derived(expr)) found.push(`${command} ${key} = ${expr}`);
  }
  return [...new Set(found)];
}

/** True when includes/flow.lua's flowKeys() builds its table F of KEYS entries only. */
function flowKeysFromKeys(source: string): boolean {
  const table = /local function flowKeys\(first\)\s*return \{([^}]*)\}/.exec(source)?.[1];
  if (table === undefined) return false;
  return splitTopLevel(table).every((field) => /^\s*[a-z]+ = KEYS\[first( \+ \d+)?\]\s*$/.test(field));
}

/** The expressions assigned to `name` (`[local] a, name = x, y` pairs names and values by position). */
function assignmentsOf(source: string, name: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(/^[ \t]*(?:local[ \t]+)?([A-Za-z_][\w \t,]*?)[ \t]*=(?!=)[ \t]*(.+)$/gm)) {
    const names = m[1].split(',').map((n) => n.trim());
    const i = names.indexOf(name);
    if (i >= 0) out.push(splitTopLevel(m[2].replace(/;.*$/, ''))[i]?.trim() ?? '');
  }
  return out;
}

/** Splits on commas outside brackets and parentheses. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

/**
 * A header that numbers the flow keys a script takes counts as many as includes/flow.lua's
 * FLOW_KEY_COUNT and QueueKeys.flowKeys: flow:refused made them eleven and left seven headers
 * saying ten, so a caller built from a header declared one key short.
 */
describe('shipped Lua: headers count the flow keys there are', () => {
  const dir = join(__dirname, '..', '..', 'lib', 'scripts');
  const count = Number(
    /^local FLOW_KEY_COUNT = (\d+)$/m.exec(readFileSync(join(dir, 'includes', 'flow.lua'), 'utf8'))?.[1],
  );

  it('FLOW_KEY_COUNT is the number of QueueKeys.flowKeys', () => {
    expect(count).toBe(new QueueKeys('p', 'q').flowKeys.length);
  });

  it.each(SCRIPT_NAMES)('%s.lua', (name) => {
    const header = /--\[\[([\s\S]*?)\]\]/.exec(readFileSync(join(dir, `${name}.lua`), 'utf8'))?.[1] ?? '';
    const counted: string[] = [];
    for (const m of header.matchAll(/KEYS\[(\d+)\.\.(\d+)\] the partition's flow keys/g))
      if (Number(m[2]) - Number(m[1]) + 1 !== count) counted.push(m[0]);
    for (const m of header.matchAll(/KEYS\[(\d+)\] \.\. KEYS\[(\d+)\] the partition's flow keys/g))
      if (Number(m[2]) - Number(m[1]) + 1 !== count) counted.push(m[0]);
    for (const m of header.matchAll(/KEYS\[last (\d+)\] the partition's flow keys/g))
      if (Number(m[1]) !== count) counted.push(m[0]);
    expect(counted).toEqual([]);
  });
});
