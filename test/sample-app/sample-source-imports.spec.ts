import { execFileSync } from 'node:child_process';
import path from 'node:path';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { SOURCE_NODE_ARGS, sourceEnv } = require('../../tools/run-sample.js') as {
  SOURCE_NODE_ARGS: string[];
  sourceEnv(env: NodeJS.ProcessEnv): Record<string, string>;
};

const ROOT = path.resolve(__dirname, '../..');

/**
 * `npm ci && npm run sample` on a fresh clone: the sample imports 'nest-stream-queue' by name,
 * which must be lib/ (the source), not the package's `exports` (dist/, which nothing has built).
 * tsconfig-paths read the inherited `paths` from sample-app/ and missed: the sample died with
 * "Cannot find module dist/index.js" (CI builds dist/ before the tests, which hid it).
 */
describe('npm run sample: the package name imported from source', () => {
  it.each(['nest-stream-queue', 'nest-stream-queue/dashboard'])('resolves %s under lib/', (name) => {
    const resolved = execFileSync(
      process.execPath,
      [...SOURCE_NODE_ARGS, '-e', `process.stdout.write(require.resolve(${JSON.stringify(name)}))`],
      {
        cwd: ROOT,
        env: { ...process.env, TS_NODE_PROJECT: '', TS_NODE_BASEURL: '', ...sourceEnv({}) },
        encoding: 'utf8',
      },
    );
    expect(path.relative(ROOT, resolved)).toMatch(/^lib\//);
  });
});
