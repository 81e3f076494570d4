import { EXIT } from '../../lib/cli/cli-commands';
import { cliOverHostileDeadLetter } from '../fixtures/hostile-dead-letter';

/**
 * Text written to Redis by anyone (a payload, a failure's message, a task name, a consumer name)
 * reaches the operator's terminal in the CLI's tables. Escape sequences in it must not reach the
 * terminal: ESC[ codes could clear the screen, move the cursor and print a forged table; \r and
 * \b could overwrite what was printed. A control from the dashboard and CLI review (it held).
 */
describe('attack: terminal control sequences in what the CLI prints', () => {
  // ESC[2J clears the screen, ESC[H homes the cursor, CSI (0x9b) is ESC[ in one byte, ESC] an OSC (a title, a link).
  const hostile = 'ok\x1b[2J\x1b[Hforged\r\b\x9b31m\x1b]8;;https://evil/\x07link\x07\u0085';
  const cli = cliOverHostileDeadLetter(hostile, hostile);

  it('dlq list and inspect print no control character but their own newlines', async () => {
    for (const argv of [['dlq', 'list'], ['inspect']]) {
      const { code, out, err } = await cli(argv);
      expect([argv, code, err]).toEqual([argv, EXIT.ok, '']);
      expect(out).toContain('forged');
      // eslint-disable-next-line no-control-regex
      expect(out).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    }
  });

  // JSON.stringify escapes C0 controls but writes DEL and the C1 controls (CSI U+009B, OSC U+009D,
  // NEL U+0085) raw: `--json` printed them to the terminal as they came. A review finding; it failed.
  it('--json escapes DEL and the C1 controls, and still reads back as the values Redis holds', async () => {
    for (const argv of [
      ['dlq', 'list', '--json'],
      ['inspect', '--json'],
    ]) {
      const { code, out, err } = await cli(argv);
      expect([argv, code, err]).toEqual([argv, EXIT.ok, '']);
      // eslint-disable-next-line no-control-regex
      expect([argv, out]).not.toEqual([argv, expect.stringMatching(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/)]);
      expect(JSON.stringify(JSON.parse(out))).toContain(JSON.stringify(hostile));
    }
  });
});
