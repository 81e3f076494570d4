import { EXIT } from '../../lib/cli/cli-commands';
import { isWellFormedText } from '../../lib/client/well-formed-text';
import { cliOverHostileDeadLetter } from '../fixtures/hostile-dead-letter';

/**
 * A table cell longer than 60 characters is cut to its first 59 and "…", counted in UTF-16 units:
 * a text whose 59th and 60th units were the two halves of one character (an emoji past U+FFFF)
 * was cut between them, and the CLI printed a lone surrogate (no character: written to the
 * terminal as U+FFFD). A dead
 * letter's id, name, key, reason and payload, and a consumer's name, all of 58 "x", an emoji and
 * "tail", showed so in `dlq list` and `inspect`. The cut now keeps the pair whole or leaves it
 * out. A review finding; the test failed.
 */
describe('attack: a table cell cut inside a surrogate pair', () => {
  const hostile = `${'x'.repeat(58)}\u{1F600}tail`;
  const cli = cliOverHostileDeadLetter(hostile, hostile);

  it('prints no lone surrogate: the cut leaves the pair out whole', async () => {
    for (const argv of [['dlq', 'list'], ['inspect']]) {
      const { code, out, err } = await cli(argv);
      expect([argv, code, err]).toEqual([argv, EXIT.ok, '']);
      expect([argv, isWellFormedText(out), out.includes(`${'x'.repeat(58)}…`)]).toEqual([argv, true, true]);
    }
  });
});
