import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const SCRIPTS_DIR = join(__dirname, '..', 'scripts');
const INCLUDE = /^-- @include ([a-z0-9-]+)\s*$/gm;

/**
 * @internal The source of `scripts/<name>.lua` with each `-- @include <helper>` replaced by
 * `scripts/includes/<helper>.lua`, each helper inlined once. Reads from `lib/` under test and
 * from `dist/` once built (the build copies the .lua files).
 */
export function loadLuaSource(name: string, dir = SCRIPTS_DIR): string {
  const seen = new Set<string>();
  return readFileSync(join(dir, `${name}.lua`), 'utf8').replace(INCLUDE, (_line, include: string) => {
    if (seen.has(include)) return '';
    seen.add(include);
    return readFileSync(join(dir, 'includes', `${include}.lua`), 'utf8');
  });
}
