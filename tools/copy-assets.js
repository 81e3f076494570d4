// Copies the Lua scripts next to the compiled code: lib/scripts -> dist/scripts.
const { cpSync } = require('node:fs');
const { join } = require('node:path');
const root = join(__dirname, '..');
cpSync(join(root, 'lib', 'scripts'), join(root, 'dist', 'scripts'), {
  recursive: true,
  filter: (src) => !/\.(ts|js)$/.test(src),
});
