// Keeps the TypeScript in a guide compiled: every ```ts block of the given Markdown files must
// follow a marker line, either `<!-- sample: <file>#<region> -->`, and then be exactly that
// region (`// #region <name>` ... `// #endregion`, dedented) of a file that CI typechecks, or
// `<!-- not compiled: <why> -->`, which says so to the reader as well.
// Usage: node tools/check-doc-samples.js docs/migrating-from-bullmq.md
//        node tools/check-doc-samples.js --marked README.md   (only the blocks under a sample marker)
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const SAMPLE = /^<!-- sample: (\S+)#(\S+) -->$/;
const NOT_COMPILED = /^<!-- not compiled: .+ -->$/;

function region(file, name) {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const start = lines.findIndex((line) => line.trim() === `// #region ${name}`);
  if (start < 0) return undefined;
  const end = lines.findIndex((line, i) => i > start && line.trim() === '// #endregion');
  if (end < 0) return undefined;
  const body = lines.slice(start + 1, end);
  const indent = Math.min(...body.filter((l) => l.trim()).map((l) => l.length - l.trimStart().length));
  return body.map((l) => l.slice(indent)).join('\n');
}

/** The problems of `doc` (its `text`, read from the file unless given) and its ts blocks counted. */
function check(doc, markedOnly, text = readFileSync(join(root, doc), 'utf8')) {
  const problems = [];
  const lines = text.split('\n');
  let counted = 0;
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[i])) {
      if (lines[i].startsWith('```')) i = lines.findIndex((l, j) => j > i && l.startsWith('```')); // skip other blocks
      if (i < 0) break;
      continue;
    }
    const close = lines.findIndex((l, j) => j > i && l.startsWith('```'));
    const block = lines.slice(i + 1, close).join('\n');
    const marker = (lines[i - 1] ?? '').trim();
    const where = `${doc}:${i + 1}`;
    counted++;
    const sample = SAMPLE.exec(marker);
    if (sample) {
      const expected = region(sample[1], sample[2]);
      if (expected === undefined) problems.push(`${where}: no region "${sample[2]}" in ${sample[1]}`);
      else if (expected !== block) problems.push(`${where}: differs from ${sample[1]}#${sample[2]}:\n${expected}`);
    } else if (markedOnly) {
      counted--;
    } else if (!NOT_COMPILED.test(marker)) {
      problems.push(`${where}: a ts block needs <!-- sample: file#region --> or <!-- not compiled: why --> above it`);
    }
    i = close;
  }
  return { problems, counted };
}

function main() {
  const markedOnly = process.argv.includes('--marked');
  const docs = process.argv.slice(2).filter((arg) => arg !== '--marked');
  if (docs.length === 0) {
    console.error('usage: node tools/check-doc-samples.js <file.md>...');
    process.exit(2);
  }
  let failed = false;
  for (const doc of docs) {
    const { problems, counted } = check(doc, markedOnly);
    if (markedOnly && counted === 0) problems.push(`${doc}: no ts block under a sample marker`);
    for (const problem of problems) console.error(problem);
    failed ||= problems.length > 0;
    console.log(`${doc}: ${counted} ts blocks, ${problems.length} problems`);
  }
  process.exit(failed ? 1 : 0);
}

// Required by test/unit/readme-samples.spec.ts, which runs the same check in `npm test`.
if (require.main === module) main();
module.exports = { check, region };
