import { EXIT } from '../../lib/cli/cli-commands';
import { cliOverHostileDeadLetter } from '../fixtures/hostile-dead-letter';

/** Format characters (Unicode Cf) and the line and paragraph separators: nothing a terminal should get raw. */
const INVISIBLE = /[\p{Cf}\u2028\u2029]/u;

/**
 * The CLI printed control characters as spaces (tables) or escaped (--json), but passed Unicode's
 * invisible format characters through raw from what anyone can write to Redis: the bidirectional
 * overrides and isolates (U+202A-U+202E, U+2066-U+2069) reorder the rest of the line on the
 * operator's terminal (Trojan Source: a task id reading "admin-report" that is something else),
 * and zero-width ones (U+200B, U+2060, U+FEFF, a tag character) hide text. A review finding; both
 * tests failed.
 */
describe('attack: invisible format characters in what the CLI prints', () => {
  // RLO reverses what follows; LRI/PDI isolate; ZWSP, WJ, BOM and a tag character (U+E0041) are invisible.
  const hostile = 'tropmer\u202e-nimda\u202c\u2066x\u2069\u200b\u2060\ufeff\u{e0041}\u2028end';
  const cli = cliOverHostileDeadLetter(hostile, `"${hostile}"`);

  it('tables print none of them', async () => {
    for (const argv of [['dlq', 'list'], ['inspect']]) {
      const { code, out, err } = await cli(argv);
      expect([argv, code, err]).toEqual([argv, EXIT.ok, '']);
      expect(out).toContain('tropmer');
      expect([argv, INVISIBLE.test(out)]).toEqual([argv, false]);
    }
  });

  it('--json escapes them, and still reads back as the values Redis holds', async () => {
    for (const argv of [
      ['dlq', 'list', '--json'],
      ['inspect', '--json'],
    ]) {
      const { code, out, err } = await cli(argv);
      expect([argv, code, err]).toEqual([argv, EXIT.ok, '']);
      expect([argv, INVISIBLE.test(out)]).toEqual([argv, false]);
      expect(JSON.stringify(JSON.parse(out))).toContain(JSON.stringify(hostile).slice(1, -1));
    }
  });
});
