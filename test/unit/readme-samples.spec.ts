import { readFileSync } from 'node:fs';
import { join } from 'node:path';

// The check CI runs as `node tools/check-doc-samples.js --marked README.md`, run here by `npm test` too.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { check } = require('../../tools/check-doc-samples.js') as {
  check(doc: string, markedOnly: boolean, text?: string): { problems: string[]; counted: number };
};

/**
 * README's code is kept compiling: a block under `<!-- sample: <file>#<region> -->` must be that
 * region of a file `npm run typecheck` compiles (test/readme-samples/, a spec). The quick start,
 * "Enqueueing", "Metrics" and "Tracing" had no marker, so nothing compiled them: the quick start
 * awaited at the top level of a CommonJS module, the Metrics and Tracing samples decorated no class,
 * and none of that was seen (a review finding; the spec failed). The sections from Configuration on
 * were added later, for the same reason: their blocks showed methods outside a class, awaits at the
 * top level of a module and `{ ... }` bodies. Each section below must keep its blocks under a
 * marker, and a block that drifts from its compiled copy fails the check.
 */
const COMPILED_SECTIONS = [
  '## Quick start',
  '## Enqueueing',
  '### Metrics',
  '### Tracing',
  '### Health',
  '### Dashboard',
  '## Testing your app',
  '## Configuration',
  '## Periodic tasks',
  '## Runtime schedules',
  '## Events and counters',
  '### Nest enhancers around runs',
  '## Operating it: fleet reads',
  '### Pausing a queue',
  '### Dead letters',
  '### Fleet events',
  '## Flow control',
  '### Rate limits',
  '### Fencing your own writes',
  '## Redis Cluster, Sentinel and key layout',
];
const SAMPLE_MARKER = /^<!-- sample: \S+#\S+ -->$/;
const readme = readFileSync(join(__dirname, '../../README.md'), 'utf8');

/** Each ts block of the section whose heading starts with `heading`: its first line, and the line above. */
function blocksOf(text: string, heading: string): { code: string; marker: string }[] {
  const lines = text.split('\n');
  const start = lines.findIndex((line) => line.startsWith(`${heading}`));
  if (start < 0) throw new Error(`README has no section "${heading}"`);
  const blocks: { code: string; marker: string }[] = [];
  let fenced = false;
  for (let i = start + 1; i < lines.length; i++) {
    if (lines[i].startsWith('```')) fenced = !fenced;
    else if (!fenced && /^#{1,6} /.test(lines[i])) break;
    if (fenced && /^```(ts|typescript)\s*$/.test(lines[i])) blocks.push({ code: lines[i + 1], marker: lines[i - 1] });
  }
  return blocks;
}

describe('README code samples', () => {
  it('match their compiled copies', () => {
    const { problems, counted } = check('README.md', true, readme);
    expect(problems).toEqual([]);
    expect(counted).toBeGreaterThanOrEqual(COMPILED_SECTIONS.length);
  });

  it.each(COMPILED_SECTIONS)('keeps every ts block of "%s" under a sample marker', (heading) => {
    const blocks = blocksOf(readme, heading);
    expect(blocks.length).toBeGreaterThan(0);
    for (const { marker } of blocks) expect(marker).toMatch(SAMPLE_MARKER);
  });

  it('fails when a block drifts from its compiled copy, in each section', () => {
    for (const heading of COMPILED_SECTIONS) {
      const start = readme.indexOf(`\n${heading}`);
      const fence = readme.indexOf('```ts\n', start) + '```ts\n'.length;
      const drifted = `${readme.slice(0, fence)}// drifted\n${readme.slice(fence)}`;
      const { problems } = check('README.md', true, drifted);
      expect(problems).toEqual([expect.stringMatching(/^README\.md:\d+: differs from test\/\S+#\S+:/)]);
    }
  });
});
