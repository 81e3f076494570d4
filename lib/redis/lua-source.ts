import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const SCRIPTS_DIR = join(__dirname, '..', 'scripts');
const INCLUDE = /^-- @include ([a-z0-9-]+)\s*$/gm;

/** @internal Where scripts and their includes are read from; `replace` swaps an include's source. */
export interface LuaSourceOptions {
  readonly dir?: string;
  /** Include name to the source used instead of includes/<name>.lua (tests instrument `rcall`). */
  readonly replace?: Readonly<Record<string, string>>;
}

/**
 * @internal The source of `scripts/<name>.lua` with its includes inlined. A script and each
 * include declare what they need with `-- @include <name>` lines (`rcall` too: nothing is
 * assumed). Dependencies are resolved transitively and inlined before what needs them, each
 * once, where the script first asks for one of them. A missing or cyclic include throws.
 */
export function loadLuaSource(name: string, options: LuaSourceOptions | string = {}): string {
  const { dir = SCRIPTS_DIR, replace = {} } = typeof options === 'string' ? { dir: options } : options;
  const done = new Set<string>();
  const resolving: string[] = [];
  const read = (include: string, by: string): string => {
    if (include in replace) return replace[include];
    try {
      return readFileSync(join(dir, 'includes', `${include}.lua`), 'utf8');
    } catch {
      throw new Error(`Lua include "${include}" (asked for by ${by}) not found in ${join(dir, 'includes')}`);
    }
  };
  const inline = (source: string, by: string): string =>
    source.replace(INCLUDE, (_line, include: string) => {
      if (done.has(include)) return '';
      if (resolving.includes(include))
        throw new Error(`Lua includes form a cycle: ${[...resolving, include].join(' -> ')}`);
      resolving.push(include);
      const text = inline(read(include, by), `includes/${include}.lua`);
      resolving.pop();
      done.add(include);
      return text;
    });
  return inline(readFileSync(join(dir, `${name}.lua`), 'utf8'), `${name}.lua`);
}
