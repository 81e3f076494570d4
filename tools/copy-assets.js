// Copies what tsc does not emit next to the compiled code: the Lua scripts, the heartbeat
// thread (plain JavaScript, loaded by path) and the dashboard's page.
const { cpSync } = require('node:fs');
const { join } = require('node:path');
const root = join(__dirname, '..');
const copy = (from) => cpSync(join(root, 'lib', from), join(root, 'dist', from), { recursive: true });
copy('scripts');
copy('consumer/heartbeat-thread.js');
copy('dashboard/assets');
