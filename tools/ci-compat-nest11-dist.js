// Dist smoke check: the built entry point and the `nest-stream-queue/testing` subpath load with the
// repo's own NestJS 11 and export the public API, and the files tsc does not emit (Lua scripts,
// plain-JS threads) were shipped next to it by tools/copy-assets.js.
// Run after `npm run build`: node tools/ci-compat-nest11-dist.js
'use strict';
const { existsSync, readdirSync, statSync } = require('node:fs');
const { join } = require('node:path');

const dist = join(__dirname, '..', 'dist');
const problems = [];

if (!existsSync(join(dist, 'index.js'))) {
  console.error(`dist smoke check FAILED: ${join(dist, 'index.js')} does not exist; run \`npm run build\` first`);
  process.exit(1);
}

function check(ok, problem) {
  if (!ok) problems.push(problem);
}

try {
  require('reflect-metadata');
  const api = require(dist);
  check(typeof api.StreamQueueModule === 'function', 'StreamQueueModule is not exported as a class');
  check(typeof api.StreamQueueModule?.forRoot === 'function', 'StreamQueueModule.forRoot is missing');
  check(typeof api.StreamQueueModule?.forRootAsync === 'function', 'StreamQueueModule.forRootAsync is missing');
  check(typeof api.Task === 'function', 'Task is not exported as a function');
  check(typeof api.QueueClient === 'function', 'QueueClient is not exported as a class');
  // The testing kit's subpath, resolved through package.json `exports` (a package may require itself by name).
  const testing = require('nest-stream-queue/testing');
  for (const name of ['createTestRedis', 'drain', 'StreamQueueTestingModule', 'DrainTimeoutError', 'testPrefix'])
    check(typeof testing[name] === 'function', `nest-stream-queue/testing does not export ${name}`);
} catch (err) {
  problems.push(`require('${dist}') threw: ${err instanceof Error ? err.stack : String(err)}`);
}

const scripts = join(dist, 'scripts');
const lua = existsSync(scripts) ? readdirSync(scripts).filter((f) => f.endsWith('.lua')) : [];
check(lua.length > 0, `no *.lua in ${scripts}`);
// Every runtime file tsc does not emit (Lua scripts and their includes, plain-JS threads) must ship.
const lib = join(__dirname, '..', 'lib');
const assets = readdirSync(lib, { recursive: true })
  .map(String)
  .filter((rel) => !rel.endsWith('.ts') && statSync(join(lib, rel)).isFile());
for (const rel of assets)
  check(existsSync(join(dist, rel)), `dist/${rel} is missing (lib/${rel} is not copied by the build)`);

if (problems.length > 0) {
  console.error(`dist smoke check FAILED:\n  - ${problems.join('\n  - ')}`);
  process.exit(1);
}
console.log(
  `dist smoke check ok: public API and nest-stream-queue/testing exported; ${lua.length} Lua scripts and all ` +
    `${assets.length} non-TS runtime files of lib/ shipped`,
);
