import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { QueueKeys } from '../../lib/redis/keys';

/**
 * The README's key layout is what operators write ACLs, eviction policies and cleanup scripts
 * from: every key and channel a queue uses must be in it. It used to miss the sequence, the
 * layout keys and all of flow control's keys.
 */
describe("README's key layout", () => {
  const readme = readFileSync(join(__dirname, '../../README.md'), 'utf8');
  const paragraph = readme.slice(readme.indexOf('Every key of a queue starts with the hash tag'));
  const layout = paragraph.slice(0, paragraph.indexOf('\n\n'));
  const keys = new QueueKeys('sq', 'q');
  const named = [...Object.values(keys), ...Object.values(keys.flow)].filter(
    (v): v is string => typeof v === 'string' && v.startsWith(`${keys.tag}:`),
  );
  const suffixes = [
    ...named.filter((k) => !k.endsWith(':')),
    keys.keyState('<key>'),
    keys.result('<id>'),
    keys.alive('<consumer>'),
  ]
    .map((k) => k.slice(keys.tag.length))
    .filter((suffix, i, all) => all.indexOf(suffix) === i);

  it.each(suffixes)('names %s', (suffix) => {
    expect(layout).toContain(`\`${suffix}\``);
  });
});
