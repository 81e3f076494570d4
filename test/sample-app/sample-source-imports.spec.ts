import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
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
  it.each([
    'nest-stream-queue',
    'nest-stream-queue/dashboard',
    'nest-stream-queue/metrics',
    'nest-stream-queue/tracing',
    'nest-stream-queue/terminus',
  ])('resolves %s under lib/', (name) => {
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

  // Its README says any sample file can be copied into a project that installed the package,
  // unchanged: a path into lib/ would not resolve there (observability/ once imported ../../lib/metrics).
  it('imports the package by name in every file, never by a path into lib/', () => {
    const sampleDir = path.join(ROOT, 'sample-app');
    const files = readdirSync(sampleDir, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts'));
    const intoLib = files.flatMap((file) =>
      [...readFileSync(path.join(sampleDir, file), 'utf8').matchAll(/from '((?:\.\.\/)+lib[^']*)'/g)].map(
        ([, specifier]) => `${file}: ${specifier}`,
      ),
    );
    expect(intoLib).toEqual([]);
  });
});
